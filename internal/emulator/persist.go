package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"github.com/slsync/slsync/internal/safefile"
)

// dataFile is the persisted state. Secrets are stored only as SHA-256
// hashes, so the file never holds a usable password or API key value; the
// Cloud API key is not stored at all (it comes from the command line or is
// generated per run).
type dataFile struct {
	Format   int        `json:"format"`
	Seq      int64      `json:"seq"`
	Projects []*project `json:"projects"`
}

const dataFormat = 1

func (s *Server) snapshotLocked() ([]byte, error) {
	df := dataFile{Format: dataFormat, Seq: s.seq, Projects: make([]*project, 0, len(s.projects))}
	for _, p := range s.projects {
		df.Projects = append(df.Projects, p)
	}
	sort.Slice(df.Projects, func(i, j int) bool { return df.Projects[i].Seq < df.Projects[j].Seq })
	return json.Marshal(df)
}

// writeSnapshotLocked (persistMu held) writes snapshot generation gen
// atomically (safefile.Write), skipping it when a newer generation was
// written already by a concurrent request.
func (s *Server) writeSnapshotLocked(gen uint64, b []byte) error {
	if gen <= s.written {
		return nil
	}
	if err := safefile.Write(s.opts.DataFile, b, 0o600); err != nil {
		return err
	}
	s.written = gen
	return nil
}

// load reads DataFile; a missing file is an empty state.
func (s *Server) load() error {
	b, err := os.ReadFile(s.opts.DataFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading emulator data file: %w", err)
	}
	var df dataFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // metadata numbers keep their exact text
	if err := dec.Decode(&df); err != nil {
		return fmt.Errorf("emulator data file %s is not valid (%v): fix or remove it to start empty", s.opts.DataFile, err)
	}
	if df.Format != dataFormat {
		return fmt.Errorf("emulator data file %s has format %d, this slsync understands %d: remove it to start empty", s.opts.DataFile, df.Format, dataFormat)
	}
	s.seq = df.Seq
	for _, p := range df.Projects {
		if p == nil || len(p.ID) != 32 || !projectTypes[p.Type] {
			return fmt.Errorf("emulator data file %s holds an invalid project entry: remove the file to start empty", s.opts.DataFile)
		}
		p.keyByID = make(map[string]*apiKey, len(p.Keys))
		for _, k := range p.Keys {
			k.index()
			p.keyByID[k.ID] = k
		}
		s.projects[p.ID] = p
		if p.DeletedAt != nil {
			s.pending++
		}
		if p.Seq > s.seq {
			s.seq = p.Seq
		}
	}
	return nil
}
