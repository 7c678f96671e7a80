package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Request validation for the Project API. Choice (status codes): a body that
// is not the right JSON shape (syntax, unknown field, wrong type, missing
// required field) is 400; a well-formed body whose values break a rule
// (enum, range, pattern, unknown region) is 422 on create — the status the
// reference lists for create — and 400 on patch. Every problem found is
// reported, each as its own errors[] entry naming the field.

const maxBody = 1 << 20

var (
	aliasRe    = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`)
	tagKeyRe   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	tagValueRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

// readBody reads the request body into the members of the JSON object it
// must be; when it is not one, readBody writes the error and reports false.
func (c *cloudCall) readBody() (map[string]json.RawMessage, bool) {
	b, err := io.ReadAll(io.LimitReader(c.r.Body, maxBody+1))
	var res result
	switch {
	case err != nil:
		res = errResult(http.StatusBadRequest, codeBadRequest, "reading the request body: "+err.Error())
	case len(b) > maxBody:
		res = errResult(http.StatusRequestEntityTooLarge, codeBadRequest, "the request body is larger than 1 MiB")
	case len(bytes.TrimSpace(b)) == 0:
		res = errResult(http.StatusBadRequest, codeBadRequest, "the request body is empty; send a JSON object")
	default:
		m, err := decodeObject(b)
		if err == nil {
			return m, true
		}
		res = errResult(http.StatusBadRequest, codeBadRequest, "the request body is not a valid JSON object: "+err.Error())
	}
	res.write(c.w)
	return nil, false
}

func decodeObject(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("expected an object, got null")
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the JSON object")
	}
	return m, nil
}

// reqErrs collects validation failures.
type reqErrs struct {
	list  []cloudError
	shape bool // at least one failure is about the JSON shape (always 400)
}

func (e *reqErrs) shapef(format string, args ...any) {
	e.shape = true
	e.list = append(e.list, cloudError{codeBadRequest, fmt.Sprintf(format, args...)})
}

func (e *reqErrs) valuef(format string, args ...any) {
	e.list = append(e.list, cloudError{codeInvalid, fmt.Sprintf(format, args...)})
}

func (e *reqErrs) status(valueStatus int) int {
	if e.shape {
		return http.StatusBadRequest
	}
	return valueStatus
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func rawString(raw json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || isNull(raw) {
		return "", false
	}
	return s, true
}

func rawInt(raw json.RawMessage) (int, bool) {
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return 0, false
	}
	i, err := n.Int64()
	if err != nil || i > 1<<31 || i < -(1<<31) {
		return 0, false
	}
	return int(i), true
}

func rawObject(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	if isNull(raw) {
		return nil, false
	}
	m, err := decodeObject(raw)
	return m, err == nil
}

func rawArray(raw json.RawMessage) ([]json.RawMessage, bool) {
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil || isNull(raw) {
		return nil, false
	}
	return a, true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// fields accepted per project type, on create and on patch.
var (
	commonCreate = []string{"name", "alias", "region_id", "traffic_filters", "linked", "metadata"}
	commonPatch  = []string{"name", "alias", "traffic_filters", "linked", "metadata"}
	typeCreate   = map[string][]string{
		"elasticsearch": {"optimized_for", "search_lake"},
		"observability": {"product_tier"},
		"security":      {"product_types", "admin_features_package", "search_lake"},
	}
	typePatch = map[string][]string{
		"elasticsearch": {"search_lake"},
		"observability": {"product_tier"},
		"security":      {"product_types", "admin_features_package", "search_lake"},
	}
	notPatchable = map[string]bool{"region_id": true, "type": true, "optimized_for": true, "id": true}
)

// checkFields reports the members body may not carry: one of fixed (it
// exists but cannot change after creation) as a value error, any other one
// outside common and perType as a shape error.
func checkFields(body map[string]json.RawMessage, typ string, errs *reqErrs, common, perType []string, fixed map[string]bool) {
	for _, k := range sortedKeys(body) {
		switch {
		case fixed[k]:
			errs.valuef("field [%s] cannot be changed after creation: changing it means deleting the project and creating a new one", k)
		case !slices.Contains(common, k) && !slices.Contains(perType, k):
			errs.shapef("unknown field [%s] for a %s project", k, typ)
		}
	}
}

// enum is a string setting limited to a fixed set of values.
type enum struct {
	field  string
	def    string // what create fills in and a patch's null goes back to
	values []string
}

var (
	optimizedFor         = enum{"optimized_for", "general_purpose", []string{"general_purpose", "vector"}}
	productTier          = enum{"product_tier", "complete", []string{"complete", "logs_essentials"}}
	adminFeaturesPackage = enum{"admin_features_package", "standard", []string{"standard", "enterprise"}}
)

// parse sets *dst to the value raw holds; in a patch, null resets it to the
// default.
func (e enum) parse(dst *string, raw json.RawMessage, errs *reqErrs, patch bool) {
	v, ok := rawString(raw)
	switch {
	case patch && isNull(raw):
		*dst = e.def
	case !ok:
		errs.shapef("field [%s] must be a string", e.field)
	case !slices.Contains(e.values, v):
		errs.valuef("field [%s]: [%s] is not one of [%s]", e.field, v, strings.Join(e.values, ", "))
	default:
		*dst = v
	}
}

// Defaults of the search_lake settings.
const (
	defaultSearchPower = 100
	defaultBoostWindow = 7
	// Choice: Security projects default to a 396-day default retention and
	// no maximum; the reference documents only the ranges.
	defaultRetentionDays = 396
)

// setDefaults fills in the type-specific settings a create may leave out.
func setDefaults(p *project) {
	switch p.Type {
	case "elasticsearch":
		p.OptimizedFor = optimizedFor.def
	case "observability":
		p.ProductTier = productTier.def
	case "security":
		p.ProductTypes = defaultProductTypes()
		p.AdminFeaturesPackage = adminFeaturesPackage.def
	}
	resetSearchLake(p)
}

// resetSearchLake puts the search_lake settings of p's type back to their
// defaults.
func resetSearchLake(p *project) {
	switch p.Type {
	case "elasticsearch":
		p.SearchPower, p.BoostWindow = defaultSearchPower, defaultBoostWindow
	case "security":
		d := defaultRetentionDays
		p.DefaultRetentionDays, p.MaxRetentionDays = &d, nil
	}
}

func (s *Server) parseCreate(p *project, body map[string]json.RawMessage, errs *reqErrs) {
	checkFields(body, p.Type, errs, commonCreate, typeCreate[p.Type], nil)
	setDefaults(p)
	if raw, ok := body["name"]; !ok {
		errs.shapef("missing required field [name]")
	} else {
		parseName(p, raw, errs)
	}
	if raw, ok := body["region_id"]; !ok {
		errs.shapef("missing required field [region_id]")
	} else if id, ok := rawString(raw); !ok {
		errs.shapef("field [region_id] must be a string")
	} else if reg, ok := findRegion(id); !ok {
		errs.valuef("unknown region [%s]; GET /api/v1/serverless/regions lists the available ones", id)
	} else if !reg.ProjectCreationEnabled {
		errs.valuef("region [%s] does not accept new projects at the moment; choose another region", id)
	} else {
		p.RegionID = id
	}
	if raw, ok := body["alias"]; ok {
		parseAlias(p, raw, errs)
	}
	if raw, ok := body["optimized_for"]; ok && p.Type == "elasticsearch" {
		optimizedFor.parse(&p.OptimizedFor, raw, errs, false)
	}
	s.parseShared(p, body, errs, false)
}

func (s *Server) parsePatch(p *project, body map[string]json.RawMessage, errs *reqErrs) {
	checkFields(body, p.Type, errs, commonPatch, typePatch[p.Type], notPatchable)
	if raw, ok := body["name"]; ok {
		parseName(p, raw, errs)
	}
	if raw, ok := body["alias"]; ok {
		if isNull(raw) {
			// Choice: a null alias goes back to the one derived from the name.
			p.Alias = deriveAlias(p.Name)
		} else {
			parseAlias(p, raw, errs)
		}
	}
	s.parseShared(p, body, errs, true)
}

func parseName(p *project, raw json.RawMessage, errs *reqErrs) {
	name, ok := rawString(raw)
	switch {
	case !ok:
		errs.shapef("field [name] must be a string")
	case utf8.RuneCountInString(name) < 1 || utf8.RuneCountInString(name) > 255:
		errs.valuef("field [name] must be 1 to 255 characters long")
	default:
		p.Name = name
	}
}

func parseAlias(p *project, raw json.RawMessage, errs *reqErrs) {
	a, ok := rawString(raw)
	switch {
	case !ok:
		errs.shapef("field [alias] must be a string")
	case len(a) < 1 || len(a) > 50:
		errs.valuef("field [alias] must be 1 to 50 characters long, got %d", len(a))
	case !aliasRe.MatchString(a):
		errs.valuef("field [alias]: [%s] is not an RFC-1035 label (a lowercase letter first, then lowercase letters, digits and '-', not ending in '-')", a)
	default:
		p.Alias = a
	}
}

// deriveAlias turns a project name into an alias: lowercase, runs of other
// characters become '-', a letter first, at most 50 characters.
func deriveAlias(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		} else {
			dash = true
		}
	}
	a := b.String()
	if a == "" {
		return "project"
	}
	if a[0] < 'a' || a[0] > 'z' {
		a = "p-" + a
	}
	if len(a) > 50 {
		a = strings.TrimRight(a[:50], "-")
	}
	return a
}

func defaultProductTypes() []productType {
	return []productType{{"security", "complete"}, {"cloud", "complete"}, {"endpoint", "complete"}}
}

// parseShared handles the fields create and patch have in common; patch
// allows null (reset to default / clear) where the API does.
func (s *Server) parseShared(p *project, body map[string]json.RawMessage, errs *reqErrs, patch bool) {
	if raw, ok := body["metadata"]; ok {
		parseMetadata(p, raw, errs, patch)
	}
	if raw, ok := body["traffic_filters"]; ok {
		if patch && isNull(raw) {
			p.TrafficFilters = nil
		} else if arr, ok := rawArray(raw); !ok {
			errs.shapef(`field [traffic_filters] must be an array of {"id": "..."}`)
		} else {
			// Choice: the emulator has no traffic filter resource, so any
			// non-empty id is accepted and echoed.
			var ids []string
			for i, el := range arr {
				obj, ok := rawObject(el)
				id, idOK := rawString(obj["id"])
				if !ok || !idOK || id == "" || len(obj) != 1 {
					errs.shapef(`field [traffic_filters[%d]] must be {"id": "<traffic filter id>"}`, i)
					continue
				}
				ids = append(ids, id)
			}
			p.TrafficFilters = ids
		}
	}
	if raw, ok := body["linked"]; ok {
		s.parseLinked(p, raw, errs, patch)
	}
	switch p.Type {
	case "observability":
		if raw, ok := body["product_tier"]; ok {
			productTier.parse(&p.ProductTier, raw, errs, patch)
		}
	case "security":
		if raw, ok := body["product_types"]; ok {
			parseProductTypes(p, raw, errs, patch)
		}
		if raw, ok := body["admin_features_package"]; ok {
			adminFeaturesPackage.parse(&p.AdminFeaturesPackage, raw, errs, patch)
		}
	}
	if raw, ok := body["search_lake"]; ok && p.Type != "observability" {
		parseSearchLake(p, raw, errs, patch)
	}
}

func parseMetadata(p *project, raw json.RawMessage, errs *reqErrs, patch bool) {
	md, ok := rawObject(raw)
	if !ok {
		errs.shapef("field [metadata] must be an object")
		return
	}
	for _, k := range sortedKeys(md) {
		if k != "tags" {
			errs.shapef("unknown field [metadata.%s]: only [metadata.tags] can be set", k)
		}
	}
	rawTags, ok := md["tags"]
	if !ok {
		return
	}
	tags, ok := rawObject(rawTags)
	if !ok {
		errs.shapef("field [metadata.tags] must be an object of tag key to value")
		return
	}
	if len(tags) > 64 {
		errs.valuef("field [metadata.tags] holds %d entries; at most 64 are allowed", len(tags))
		return
	}
	next := map[string]string{}
	if patch {
		// Patch: a map of changes; tags not named are kept.
		for k, v := range p.Tags {
			next[k] = v
		}
	}
	for _, k := range sortedKeys(tags) {
		v := tags[k]
		if !tagKeyRe.MatchString(k) {
			errs.valuef("tag key [%s] is invalid: it must start with a lowercase letter, use only a-z, 0-9, '_' and '-', and be at most 32 characters", k)
			continue
		}
		if isNull(v) {
			if !patch {
				errs.valuef("tag [%s] has a null value; null only removes a tag in a patch", k)
			}
			delete(next, k)
			continue
		}
		val, ok := rawString(v)
		if !ok {
			errs.shapef("tag [%s] must have a string value", k)
			continue
		}
		if len(val) < 1 || len(val) > 128 || !tagValueRe.MatchString(val) {
			errs.valuef("tag [%s] value [%s] is invalid: 1 to 128 characters matching ^[a-z0-9][a-z0-9_-]*$", k, val)
			continue
		}
		next[k] = val
	}
	if len(next) > 64 {
		errs.valuef("the project would carry %d tags; at most 64 are allowed", len(next))
		return
	}
	if len(next) == 0 {
		next = nil
	}
	p.Tags = next
}

// parseLinked accepts {"projects": {"<project id>": {}}}; each linked
// project must exist. Choice: the inner object may carry "type", checked
// against the linked project's type; the response adds type and status.
func (s *Server) parseLinked(p *project, raw json.RawMessage, errs *reqErrs, patch bool) {
	if patch && isNull(raw) {
		p.Linked = nil
		return
	}
	obj, ok := rawObject(raw)
	if !ok {
		errs.shapef(`field [linked] must be {"projects": {"<project id>": {}}}`)
		return
	}
	for _, k := range sortedKeys(obj) {
		if k != "projects" {
			errs.shapef("unknown field [linked.%s]", k)
		}
	}
	projs, ok := rawObject(obj["projects"])
	if !ok {
		errs.shapef(`field [linked.projects] must be an object keyed by project id`)
		return
	}
	var ids []string
	for _, id := range sortedKeys(projs) {
		inner, ok := rawObject(projs[id])
		if !ok {
			errs.shapef("field [linked.projects.%s] must be an object", id)
			continue
		}
		lp, exists := s.projects[id]
		if !exists || lp.DeletedAt != nil || id == p.ID {
			errs.valuef("linked project [%s] does not exist", id)
			continue
		}
		for _, k := range sortedKeys(inner) {
			if k != "type" {
				errs.shapef("unknown field [linked.projects.%s.%s]", id, k)
			} else if t, _ := rawString(inner[k]); t != lp.Type {
				errs.valuef("linked project [%s] is of type [%s], not [%s]", id, lp.Type, t)
			}
		}
		ids = append(ids, id)
	}
	p.Linked = ids
}

// boundedInt reads an integer field within [min, max]; want names the JSON
// values the field accepts, for the error.
func boundedInt(field string, raw json.RawMessage, min, max int, want string, errs *reqErrs) (int, bool) {
	n, ok := rawInt(raw)
	switch {
	case !ok:
		errs.shapef("field [%s] must be %s", field, want)
	case n < min || n > max:
		errs.valuef("field [%s] must be between %d and %d, got %d", field, min, max, n)
	default:
		return n, true
	}
	return 0, false
}

// parseSearchLake reads search_lake: search power and boost window for an
// elasticsearch project, data retention for a security one. In a patch, null
// goes back to the defaults.
func parseSearchLake(p *project, raw json.RawMessage, errs *reqErrs, patch bool) {
	if patch && isNull(raw) {
		resetSearchLake(p)
		return
	}
	obj, ok := rawObject(raw)
	if !ok {
		errs.shapef("field [search_lake] must be an object")
		return
	}
	if p.Type == "elasticsearch" {
		parseSearchPower(p, obj, errs, patch)
	} else {
		parseDataRetention(p, obj, errs, patch)
	}
}

func parseSearchPower(p *project, obj map[string]json.RawMessage, errs *reqErrs, patch bool) {
	for _, k := range sortedKeys(obj) {
		var min, max, def int
		var dst *int
		switch k {
		case "search_power":
			min, max, def, dst = 28, 3000, defaultSearchPower, &p.SearchPower
		case "boost_window":
			min, max, def, dst = 1, 180, defaultBoostWindow, &p.BoostWindow
		default:
			errs.shapef("unknown field [search_lake.%s]", k)
			continue
		}
		if patch && isNull(obj[k]) {
			*dst = def
		} else if n, ok := boundedInt("search_lake."+k, obj[k], min, max, "an integer", errs); ok {
			*dst = n
		}
	}
}

func parseDataRetention(p *project, obj map[string]json.RawMessage, errs *reqErrs, patch bool) {
	for _, k := range sortedKeys(obj) {
		if k != "data_retention" {
			errs.shapef("unknown field [search_lake.%s]", k)
		}
	}
	rawDR, ok := obj["data_retention"]
	if !ok {
		return
	}
	if patch && isNull(rawDR) {
		resetSearchLake(p)
		return
	}
	dr, ok := rawObject(rawDR)
	if !ok {
		errs.shapef("field [search_lake.data_retention] must be an object")
		return
	}
	for _, k := range sortedKeys(dr) {
		var dst **int
		switch k {
		case "max_retention_days":
			dst = &p.MaxRetentionDays
		case "default_retention_days":
			dst = &p.DefaultRetentionDays
		default:
			errs.shapef("unknown field [search_lake.data_retention.%s]", k)
			continue
		}
		if isNull(dr[k]) {
			*dst = nil
		} else if n, ok := boundedInt("search_lake.data_retention."+k, dr[k], 7, 3681, "an integer or null", errs); ok {
			*dst = &n
		}
	}
	if p.MaxRetentionDays != nil && p.DefaultRetentionDays != nil && *p.DefaultRetentionDays > *p.MaxRetentionDays {
		errs.valuef("search_lake.data_retention.default_retention_days (%d) must not exceed max_retention_days (%d)",
			*p.DefaultRetentionDays, *p.MaxRetentionDays)
	}
}

func parseProductTypes(p *project, raw json.RawMessage, errs *reqErrs, patch bool) {
	if patch && isNull(raw) {
		p.ProductTypes = defaultProductTypes()
		return
	}
	arr, ok := rawArray(raw)
	if !ok {
		errs.shapef("field [product_types] must be an array")
		return
	}
	if len(arr) < 1 || len(arr) > 3 {
		errs.valuef("field [product_types] must hold 1 to 3 entries, got %d", len(arr))
		return
	}
	var out []productType
	seen := map[string]bool{}
	for i, el := range arr {
		obj, ok := rawObject(el)
		if !ok {
			errs.shapef("field [product_types[%d]] must be an object", i)
			continue
		}
		var pt productType
		for _, k := range sortedKeys(obj) {
			v, ok := rawString(obj[k])
			switch {
			case k != "product_line" && k != "product_tier":
				errs.shapef("unknown field [product_types[%d].%s]", i, k)
			case !ok:
				errs.shapef("field [product_types[%d].%s] must be a string", i, k)
			case k == "product_line":
				pt.ProductLine = v
			default:
				pt.ProductTier = v
			}
		}
		switch {
		case pt.ProductLine == "" || pt.ProductTier == "":
			errs.shapef("field [product_types[%d]] needs both product_line and product_tier", i)
		case pt.ProductLine != "security" && pt.ProductLine != "cloud" && pt.ProductLine != "endpoint":
			errs.valuef("field [product_types[%d].product_line]: [%s] is not one of [security, cloud, endpoint]", i, pt.ProductLine)
		case pt.ProductTier != "complete" && pt.ProductTier != "essentials":
			errs.valuef("field [product_types[%d].product_tier]: [%s] is not one of [complete, essentials]", i, pt.ProductTier)
		case seen[pt.ProductLine]:
			errs.valuef("field [product_types]: product_line [%s] appears twice", pt.ProductLine)
		default:
			seen[pt.ProductLine] = true
			out = append(out, pt)
		}
	}
	p.ProductTypes = out
}
