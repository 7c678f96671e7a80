package plan

import "testing"

func TestOnly(t *testing.T) {
	p := &Plan{
		Actions: []*Action{
			{Address: "project.a", Kind: Adopt},
			{Address: "api_key.a.k", Kind: Create, DependsOn: []string{"project.a"}},
			{Address: "project.b", Kind: Delete},
		},
		Problems: []Problem{{Address: "project.b", Message: "x"}, {Message: "global"}},
	}
	p.summarize()
	sub := p.Only("project.a")
	if len(sub.Actions) != 1 || sub.Actions[0].Address != "project.a" {
		t.Fatalf("Only kept %v", sub.Actions)
	}
	if sub.Summary.Adopt != 1 || sub.Summary.Delete != 0 || sub.Summary.Create != 0 {
		t.Errorf("summary not recomputed: %+v", sub.Summary)
	}
	if len(sub.Problems) != 1 || sub.Problems[0].Message != "global" {
		t.Errorf("problems: %+v", sub.Problems)
	}
	keys := p.Only("api_key.a.k")
	if len(keys.Actions[0].DependsOn) != 0 {
		t.Errorf("dependency on a left-out action kept: %v", keys.Actions[0].DependsOn)
	}
	if len(p.Actions) != 3 || len(p.Actions[1].DependsOn) != 1 {
		t.Error("Only modified the original plan")
	}
}
