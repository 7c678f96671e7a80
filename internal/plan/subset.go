package plan

// Only returns a copy of the plan restricted to the actions at the given
// addresses, with the problems that concern them (or no address) and a fresh
// summary. Dependencies on actions left out are dropped: the caller chooses a
// subset that stands on its own (`slsync adopt` takes one project's adopt
// action, which depends on nothing).
func (p *Plan) Only(addresses ...string) *Plan {
	keep := map[string]bool{}
	for _, a := range addresses {
		keep[a] = true
	}
	out := *p
	out.Actions = nil
	for _, a := range p.Actions {
		if !keep[a.Address] {
			continue
		}
		c := *a
		c.DependsOn = nil
		for _, d := range a.DependsOn {
			if keep[d] {
				c.DependsOn = append(c.DependsOn, d)
			}
		}
		out.Actions = append(out.Actions, &c)
	}
	out.Problems = nil
	for _, pr := range p.Problems {
		if pr.Address == "" || keep[pr.Address] {
			out.Problems = append(out.Problems, pr)
		}
	}
	out.summarize()
	return &out
}
