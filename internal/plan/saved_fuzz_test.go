package plan

import (
	"bytes"
	"os"
	"testing"
)

// FuzzRead: a saved plan is a file a user hands to apply; any content gives
// a plan or an error, never a panic, and an accepted plan saves and reads
// back to the same bytes.
func FuzzRead(f *testing.F) {
	if b, err := os.ReadFile("testdata/saved.json.golden"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"format_version":"1"}`))
	f.Add([]byte(`{"format_version":"2","actions":[]}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		var once, twice bytes.Buffer
		if err := WriteSaved(&once, p); err != nil {
			t.Fatalf("an accepted plan does not save: %v", err)
		}
		p2, err := Read(bytes.NewReader(once.Bytes()))
		if err != nil {
			t.Fatalf("a saved plan does not read back: %v\n%s", err, once.Bytes())
		}
		if err := WriteSaved(&twice, p2); err != nil || !bytes.Equal(once.Bytes(), twice.Bytes()) {
			t.Fatalf("save → read → save changed the plan (%v)", err)
		}
	})
}
