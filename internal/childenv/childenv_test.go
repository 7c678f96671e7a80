package childenv

import (
	"slices"
	"testing"
)

func TestWithout(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		drop []string
		want []string
	}{
		{"nothing to drop", []string{"A=1", "B=2"}, nil, []string{"A=1", "B=2"}},
		{"drops every entry of a name", []string{"EC_API_KEY=s1", "PATH=/bin", "EC_API_KEY=s2"}, []string{"EC_API_KEY"}, []string{"PATH=/bin"}},
		{"several names", []string{"GIT_DIR=/x", "HOME=/h", "GIT_WORK_TREE=/y"}, []string{"GIT_DIR", "GIT_WORK_TREE"}, []string{"HOME=/h"}},
		{"a prefix of a name is another name", []string{"EC_API_KEY_FILE=f", "EC_API=x"}, []string{"EC_API_KEY"}, []string{"EC_API_KEY_FILE=f", "EC_API=x"}},
		{"empty value", []string{"GIT_DIR=", "A=1"}, []string{"GIT_DIR"}, []string{"A=1"}},
		{"empty env", nil, []string{"A"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := slices.Clone(tt.env)
			got := Without(tt.env, tt.drop...)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Without(%q, %q) = %q, want %q", tt.env, tt.drop, got, tt.want)
			}
			if !slices.Equal(tt.env, orig) {
				t.Errorf("Without modified its input: %q", tt.env)
			}
		})
	}
}
