package emulator_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
)

// BenchmarkEmulator loads 500 projects holding 20,000 API keys in total
// (one "big" project holds 2,036 of them) over HTTP, then measures simple
// requests from concurrent loopback clients and metadata queries over one
// project's keys. Run with: go test -run '^$' -bench Emulator -cpu 2 ./internal/emulator
func BenchmarkEmulator(b *testing.B) {
	env := emulatortest.Start(b, emulator.Options{})
	const nProjects, perProject, bigExtra = 500, 36, 2000
	ids := make([]string, nProjects)
	for i := range ids {
		ids[i], _, _, _ = env.CreateProject(b, "elasticsearch",
			fmt.Sprintf(`{"name":"bench %d","region_id":"aws-us-east-1","metadata":{"tags":{"slsync-owner":"bench"}}}`, i))
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	post := func(url, auth, body string) (int, error) {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// Load keys with 8 concurrent writers.
	work := make(chan [2]int)
	var wg sync.WaitGroup
	var loadErr error
	var errOnce sync.Once
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range work {
				pid := ids[job[0]]
				body := fmt.Sprintf(`{"name":"key-%d","metadata":{"slsync_owner":"owner-%d","slsync_key":"k%d"},"role_descriptors":{"r":{"indices":[{"names":["logs-*"],"privileges":["read"]}]}}}`,
					job[1], job[1]%3, job[1])
				if st, err := post(env.ESURL(pid, "/_security/api_key"), env.AdminAuth(b, pid), body); err != nil || st != 200 {
					errOnce.Do(func() { loadErr = fmt.Errorf("creating a key: %d %v", st, err) })
				}
			}
		}()
	}
	total := 0
	for p := range ids {
		n := perProject
		if p == 0 {
			n += bigExtra
		}
		for k := 0; k < n; k++ {
			work <- [2]int{p, k}
			total++
		}
	}
	close(work)
	wg.Wait()
	if loadErr != nil {
		b.Fatal(loadErr)
	}
	if total != 20000 {
		b.Fatalf("loaded %d keys", total)
	}

	b.Run("simple-requests", func(b *testing.B) {
		b.SetParallelism(4) // 4 clients per CPU
		var mu sync.Mutex
		next := 0
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			mu.Lock()
			next++
			i := next
			mu.Unlock()
			for pb.Next() {
				i++
				var url string
				if i%2 == 0 {
					url = env.URL + "/api/v1/serverless/projects/elasticsearch/" + ids[i%nProjects]
				} else {
					url = env.URL + "/api/v1/serverless/projects/elasticsearch/" + ids[i%nProjects] + "/status"
				}
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "ApiKey "+env.APIKey)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})

	query := `{"query":{"bool":{"filter":[{"term":{"metadata.slsync_owner":"owner-1"}},{"term":{"invalidated":false}}]}},"sort":["name"],"size":100}`
	for _, c := range []struct {
		name string
		pid  string
		keys int
	}{{"metadata-query-36-keys", ids[1], perProject}, {"metadata-query-2036-keys", ids[0], perProject + bigExtra}} {
		b.Run(c.name, func(b *testing.B) {
			url, auth := env.ESURL(c.pid, "/_security/_query/api_key"), env.AdminAuth(b, c.pid)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if st, err := post(url, auth, query); err != nil || st != 200 {
					b.Fatalf("query: %d %v", st, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
		})
	}
}
