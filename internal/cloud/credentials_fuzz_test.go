package cloud

import (
	"strings"
	"testing"
)

// FuzzParseCredentials: the credentials file may be edited by hand; any
// content gives credentials or an error, never a panic, and an error never
// repeats a password from the file.
func FuzzParseCredentials(f *testing.F) {
	f.Add([]byte(`{"version":1,"projects":{"0123456789abcdef0123456789abcdef":{"key":"k","owner":"o","username":"admin","password":"hunter2-secret","endpoint":"http://127.0.0.1:1/es/x"}}}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"projects":{"x":{"password":"hunter2-secret"`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parseCredentials("credentials.json", data)
		if err != nil && strings.Contains(err.Error(), "hunter2-secret") {
			t.Fatalf("error repeats a password: %v", err)
		}
	})
}
