package export

import (
	"bytes"
	"fmt"

	"github.com/goccy/go-yaml"

	"github.com/slsync/slsync/schema"
)

// Modeline lets editors running yaml-language-server validate and complete
// the exported manifests against slsync's schema.
const Modeline = "# yaml-language-server: $schema=" + schema.URL + "\n"

type document struct {
	Owner    string                  `yaml:"owner"`
	Projects map[string]*ProjectSpec `yaml:"projects"`
}

// Marshal renders projects as one manifest document of owner, with the
// modeline, a head comment, and the live ids as comments. Map keys are
// sorted, so the same live state always gives the same bytes.
func Marshal(owner string, projects []*Project) ([]byte, error) {
	doc := document{Owner: owner, Projects: map[string]*ProjectSpec{}}
	comments := yaml.CommentMap{}
	root := func() *yaml.PathBuilder { return (&yaml.PathBuilder{}).Root().Child("projects") }
	for _, p := range projects {
		doc.Projects[p.Key] = p.Spec
		lp := p.Live
		text := fmt.Sprintf(" %s project id %s", lp.Type, lp.ID)
		if lp.FullAlias != "" {
			text += ", alias " + lp.FullAlias
		}
		if p.Spec.Adopt != nil {
			text += "; not yet managed: adopt puts it under management by tagging it"
		}
		comments[root().Child(p.Key).Build().String()] = []*yaml.Comment{yaml.HeadComment(text)}
		for name, id := range p.KeyIDs {
			if p.Spec.APIKeys[name] == nil {
				continue
			}
			comments[root().Child(p.Key).Child("api_keys").Child(name).Build().String()] = []*yaml.Comment{yaml.HeadComment(" key id " + id)}
		}
	}
	body, err := yaml.MarshalWithOptions(doc, yaml.WithComment(comments), yaml.IndentSequence(true), yaml.UseLiteralStyleIfMultiline(true))
	if err != nil {
		return nil, fmt.Errorf("rendering the manifest: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString(Modeline)
	buf.WriteString("#\n# Written by `slsync export` from the live organisation. Review it, commit it, and run\n")
	buf.WriteString("# `slsync plan`: projects marked adopt are taken over as they are, nothing is recreated.\n")
	buf.Write(body)
	return buf.Bytes(), nil
}
