package plan

import (
	"reflect"
	"testing"
)

func TestCompare(t *testing.T) {
	mk := func(actions ...*Action) *Plan { return &Plan{Actions: actions} }
	create := &Action{Address: "project.a", Kind: Create, Changes: []Change{{Path: "name", After: "A"}}}
	renamed := &Action{Address: "project.a", Kind: Create, Changes: []Change{{Path: "name", After: "B"}}}
	key := &Action{Address: "api_key.a.k", Kind: Create}
	update := &Action{Address: "project.b", Kind: Update}

	tests := []struct {
		name      string
		prev, nxt *Plan
		added     []string
		gone      []string
	}{
		{"first plan marks nothing", nil, mk(create), nil, nil},
		{"same plan marks nothing", mk(create, key), mk(create, key), nil, nil},
		{"changed content is marked", mk(create, key), mk(renamed, key), []string{"project.a"}, nil},
		{"new action is marked", mk(create), mk(create, update), []string{"project.b"}, nil},
		{"vanished action is listed", mk(create, key), mk(create), nil, []string{"api_key.a.k (create)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Compare(tt.prev, tt.nxt)
			var added []string
			for _, a := range tt.nxt.Actions {
				if d.Added[a.Address] {
					added = append(added, a.Address)
				}
			}
			if !reflect.DeepEqual(added, tt.added) || !reflect.DeepEqual(d.Gone, tt.gone) {
				t.Errorf("Compare: added %v gone %v; want %v %v", added, d.Gone, tt.added, tt.gone)
			}
		})
	}
}
