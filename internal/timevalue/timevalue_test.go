package timevalue

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"30d", 30 * day, false},
		{"12h", 12 * time.Hour, false},
		{"90m", 90 * time.Minute, false},
		{"45s", 45 * time.Second, false},
		{"500ms", 500 * time.Millisecond, false},
		{"7micros", 7 * time.Microsecond, false},
		{"9nanos", 9, false},
		{"1D", day, false},
		{"0", 0, false},
		{"-1", -1, false},
		{"1w", 0, true},
		{"1y", 0, true},
		{"1M", time.Minute, false}, // Elasticsearch lower-cases the unit: "M" is minutes, not months
		{"", 0, true},
		{"d", 0, true},
		{"-5d", 0, true},
		{"+5d", 0, true},
		{"1.5h", 0, true},
		{"10", 0, true},
		{"99999999999999999d", 0, true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("Parse(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && got != tt.want {
			t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestFormatRoundTrip(t *testing.T) {
	for _, s := range []string{"30d", "36h", "90s", "1500ms", "7micros", "3nanos", "0"} {
		d, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := Format(d); got != s {
			t.Errorf("Format(Parse(%q)) = %q", s, got)
		}
	}
	if got := Format(48 * time.Hour); got != "2d" {
		t.Errorf("Format(48h) = %q, want 2d", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"30d", "1ms", "-1", "0", "1.5h", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err == nil && d > 0 {
			if back, err := Parse(Format(d)); err != nil || back != d {
				t.Fatalf("round trip of %q: %v %v", s, back, err)
			}
		}
	})
}
