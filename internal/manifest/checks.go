package manifest

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/roledesc"
	"github.com/slsync/slsync/internal/timevalue"
)

// checkDoc applies the rules of one document that JSON Schema cannot
// express: durations as Elasticsearch parses them and how they relate,
// privilege names (a closed list plus action patterns), one product line at
// most once, retention defaults within their maximum, adoption by alias.
// It tolerates any shape: fields of the wrong type were already reported by
// the schema and are skipped here. Rules across documents and files (owner,
// project keys defined twice) are checked when the loader merges.
func checkDoc(doc any) []issue {
	var out []issue
	m, _ := doc.(map[string]any)
	projects, _ := m["projects"].(map[string]any)
	for _, key := range model.SortedKeys(projects) {
		p, ok := projects[key].(map[string]any)
		if !ok {
			continue
		}
		base := []string{"projects", key}
		if b, ok := p["adopt"].(bool); ok && b {
			if _, has := p["alias"]; !has {
				out = append(out, issue{path: appendPath(base, "adopt"),
					message: "adopt: true finds the project to adopt by its alias, but this project has no alias; set alias, or give the 32-character id of the project to adopt"})
			}
		}
		out = append(out, checkProductTypes(base, p)...)
		out = append(out, checkRetention(base, p)...)
		keys, _ := p["api_keys"].(map[string]any)
		for _, name := range model.SortedKeys(keys) {
			if k, ok := keys[name].(map[string]any); ok {
				out = append(out, checkAPIKey(append(appendPath(base, "api_keys"), name), k)...)
			}
		}
	}
	return out
}

func checkProductTypes(base []string, p map[string]any) []issue {
	var out []issue
	list, _ := p["product_types"].([]any)
	seen := map[string]int{}
	for i, item := range list {
		it, _ := item.(map[string]any)
		line, ok := it["product_line"].(string)
		if !ok {
			continue
		}
		if j, dup := seen[line]; dup {
			out = append(out, issue{path: append(appendPath(base, "product_types"), strconv.Itoa(i), "product_line"),
				message: fmt.Sprintf("product line %q is already listed at product_types[%d]; list each product line once", line, j)})
			continue
		}
		seen[line] = i
	}
	return out
}

func checkRetention(base []string, p map[string]any) []issue {
	sl, _ := p["search_lake"].(map[string]any)
	dr, _ := sl["data_retention"].(map[string]any)
	def, okD := toInt(dr["default_retention_days"])
	mx, okM := toInt(dr["max_retention_days"])
	if okD && okM && *def > *mx {
		return []issue{{path: append(appendPath(base, "search_lake"), "data_retention", "default_retention_days"),
			message: fmt.Sprintf("default_retention_days (%d) exceeds max_retention_days (%d); the default must be at most the maximum", *def, *mx)}}
	}
	return nil
}

// minExpiration: Elasticsearch counts an expiration in whole seconds from
// creation, so anything shorter yields a key that is expired on arrival.
const minExpiration = time.Second

func checkAPIKey(base []string, k map[string]any) []issue {
	var out []issue
	var exp time.Duration
	expOK := false
	if s, ok := k["expiration"].(string); ok {
		d, err := timevalue.Parse(s)
		switch {
		case err != nil:
			out = append(out, issue{path: appendPath(base, "expiration"), message: fmt.Sprintf("invalid duration %q: %v", s, err)})
		case d < minExpiration:
			out = append(out, issue{path: appendPath(base, "expiration"),
				message: fmt.Sprintf("expiration %q is shorter than 1s: Elasticsearch counts whole seconds, so the key would be expired when created; use e.g. 30d, or omit expiration for a key that never expires", s)})
		default:
			exp, expOK = d, true
		}
	}
	if s, ok := k["rotate_before"].(string); ok {
		_, hasExp := k["expiration"]
		d, err := timevalue.Parse(s)
		switch {
		case err != nil:
			out = append(out, issue{path: appendPath(base, "rotate_before"), message: fmt.Sprintf("invalid duration %q: %v", s, err)})
		case d <= 0:
			out = append(out, issue{path: appendPath(base, "rotate_before"), message: fmt.Sprintf("rotate_before %q must be a positive duration such as 7d", s)})
		case !hasExp:
			out = append(out, issue{path: appendPath(base, "rotate_before"),
				message: "rotate_before needs expiration: a key that never expires is never rotated; set expiration (e.g. 90d) or remove rotate_before"})
		case expOK && d >= exp:
			out = append(out, issue{path: appendPath(base, "rotate_before"),
				message: fmt.Sprintf("rotate_before (%s) must be shorter than expiration (%s), or the key would be rotated as soon as it is created", s, k["expiration"])})
		}
	}

	rds, present := k["role_descriptors"]
	rdm, _ := rds.(map[string]any)
	if !present || (rdm != nil && len(rdm) == 0) {
		out = append(out, issue{path: base, warn: true,
			message: "no role_descriptors: this key gets every privilege of the credential that creates it (the project's admin); add role_descriptors to limit it"})
	}
	for _, role := range model.SortedKeys(rdm) {
		rd, _ := rdm[role].(map[string]any)
		rbase := append(appendPath(base, "role_descriptors"), role)
		cluster, _ := rd["cluster"].([]any)
		for i, c := range cluster {
			if s, ok := c.(string); ok && s != "" && !roledesc.ValidClusterPrivilege(s) {
				out = append(out, issue{path: append(appendPath(rbase, "cluster"), strconv.Itoa(i)),
					message: unknownPrivilege("cluster", s, roledesc.ClusterPrivileges, "cluster:monitor/*")})
			}
		}
		indices, _ := rd["indices"].([]any)
		for j, e := range indices {
			ent, _ := e.(map[string]any)
			privs, _ := ent["privileges"].([]any)
			for i, pv := range privs {
				if s, ok := pv.(string); ok && s != "" && !roledesc.ValidIndexPrivilege(s) {
					out = append(out, issue{path: append(appendPath(rbase, "indices"), strconv.Itoa(j), "privileges", strconv.Itoa(i)),
						message: unknownPrivilege("index", s, roledesc.IndexPrivileges, "indices:data/read/*")})
				}
			}
		}
	}
	return out
}

func unknownPrivilege(kind, p string, valid []string, pattern string) string {
	msg := fmt.Sprintf("unknown %s privilege %q", kind, p)
	if s := suggest(strings.ToLower(p), valid); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg + fmt.Sprintf("; Elastic Cloud Serverless accepts %s, or an action pattern such as %q", strings.Join(valid, ", "), pattern)
}
