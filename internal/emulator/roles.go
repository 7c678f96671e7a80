package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/slsync/slsync/internal/roledesc"
)

// roleDescriptor is a role descriptor as Elasticsearch stores and returns it
// (reference §10): every list present ([] when not sent), metadata {}, the
// fixed transient_metadata, allow_restricted_indices always written, names
// always an array, query always a string. Stored values are never mutated,
// only replaced, so views may share them.
type roleDescriptor struct {
	Cluster           []string          `json:"cluster"`
	Indices           []indexPrivileges `json:"indices"`
	Applications      []appPrivileges   `json:"applications"`
	RunAs             []string          `json:"run_as"`
	Metadata          map[string]any    `json:"metadata"`
	TransientMetadata map[string]any    `json:"transient_metadata"`
	Restriction       *restriction      `json:"restriction,omitempty"`
}

type indexPrivileges struct {
	Names                  []string       `json:"names"`
	Privileges             []string       `json:"privileges"`
	FieldSecurity          *fieldSecurity `json:"field_security,omitempty"`
	Query                  *string        `json:"query,omitempty"`
	AllowRestrictedIndices bool           `json:"allow_restricted_indices"`
}

type fieldSecurity struct {
	Grant  *[]string `json:"grant,omitempty"`
	Except *[]string `json:"except,omitempty"`
}

type appPrivileges struct {
	Application string   `json:"application"`
	Privileges  []string `json:"privileges"`
	Resources   []string `json:"resources"`
}

type restriction struct {
	Workflows []string `json:"workflows"`
}

func emptyDescriptor() *roleDescriptor {
	return &roleDescriptor{Cluster: []string{}, Indices: []indexPrivileges{}, Applications: []appPrivileges{},
		RunAs: []string{}, Metadata: map[string]any{}, TransientMetadata: map[string]any{"enabled": true}}
}

// superuserDescriptor is Elasticsearch's built-in superuser role, which the
// admin user holds and which keys it creates record as limited_by.
func superuserDescriptor() *roleDescriptor {
	rd := emptyDescriptor()
	rd.Cluster = []string{"all"}
	rd.Indices = []indexPrivileges{
		{Names: []string{"*"}, Privileges: []string{"all"}, AllowRestrictedIndices: false},
		{Names: []string{"*"}, Privileges: []string{"monitor", "read", "view_index_metadata", "read_cross_cluster"}, AllowRestrictedIndices: true},
	}
	rd.Applications = []appPrivileges{{Application: "*", Privileges: []string{"*"}, Resources: []string{"*"}}}
	rd.RunAs = []string{"*"}
	rd.Metadata = map[string]any{"_reserved": true}
	return rd
}

// isEmpty reports whether a descriptor grants nothing (the derived-key rule).
func (rd *roleDescriptor) isEmpty() bool {
	return len(rd.Cluster) == 0 && len(rd.Indices) == 0 && len(rd.Applications) == 0 && len(rd.RunAs) == 0
}

func parseException(format string, args ...any) *esErr {
	return esBadRequest("parse_exception", fmt.Sprintf(format, args...))
}

func decodeAny(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// parseRoleDescriptors parses the role_descriptors object of a create or
// update request. Structural problems stop at once with a parse_exception;
// content problems are collected into validation messages, as Elasticsearch
// does (its parser throws, its request validator accumulates).
func parseRoleDescriptors(raw json.RawMessage) (map[string]*roleDescriptor, []string, *esErr) {
	obj, ok := rawObject(raw)
	if !ok {
		return nil, nil, esBadRequest("x_content_parse_exception",
			fmt.Sprintf("failed to parse field [role_descriptors]: expected an object, found %s", jsonKind(raw)))
	}
	out := make(map[string]*roleDescriptor, len(obj))
	var msgs []string
	for _, name := range sortedKeys(obj) {
		if !validRoleName(name) {
			msgs = append(msgs, "Role names must be at least 1 and no more than 507 characters. They can contain alphanumeric characters (a-z, A-Z, 0-9), spaces, punctuation, and printable symbols in the Basic Latin (ASCII) block. Leading or trailing whitespace is not allowed.")
		}
		rd, m, err := parseRoleDescriptor(name, obj[name])
		if err != nil {
			return nil, nil, err
		}
		msgs = append(msgs, m...)
		out[name] = rd
	}
	return out, msgs, nil
}

func validRoleName(n string) bool {
	if len(n) < 1 || len(n) > 507 || strings.TrimSpace(n) != n {
		return false
	}
	for _, r := range n {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}

func stringArray(role, field string, raw json.RawMessage) ([]string, *esErr) {
	var arr []json.RawMessage
	if err := json.Unmarshal(raw, &arr); err != nil || isNull(raw) {
		return nil, parseException("failed to parse role [%s]. expected field [%s] value to be an array of string, but found [%s] instead", role, field, jsonKind(raw))
	}
	out := make([]string, 0, len(arr))
	for _, el := range arr {
		s, ok := rawString(el)
		if !ok {
			return nil, parseException("failed to parse role [%s]. expected field [%s] value to be an array of string, but found an element of type [%s] instead", role, field, jsonKind(el))
		}
		out = append(out, s)
	}
	return out, nil
}

func parseRoleDescriptor(role string, raw json.RawMessage) (*roleDescriptor, []string, *esErr) {
	obj, ok := rawObject(raw)
	if !ok {
		return nil, nil, parseException("failed to parse role [%s]. expected an object but found [%s] instead", role, jsonKind(raw))
	}
	rd := emptyDescriptor()
	var msgs []string
	for _, f := range sortedKeys(obj) {
		v := obj[f]
		var err *esErr
		switch f {
		case "cluster":
			rd.Cluster, err = stringArray(role, f, v)
			for _, p := range rd.Cluster {
				if !roledesc.ValidClusterPrivilege(p) {
					msgs = append(msgs, fmt.Sprintf("unknown cluster privilege [%s]. a privilege must be either one of the predefined cluster privilege names [%s] or a pattern over one of the available cluster actions",
						strings.ToLower(p), strings.Join(roledesc.ClusterPrivileges, ",")))
				}
			}
		case "indices", "index":
			rd.Indices, msgs, err = parseIndices(role, v, msgs)
		case "applications", "application":
			rd.Applications, err = parseApplications(role, v)
		case "run_as":
			rd.RunAs, err = stringArray(role, f, v)
			// Choice: Serverless disables run_as (only [] is accepted); the
			// refusal is reported as a validation failure.
			if err == nil && len(rd.RunAs) > 0 {
				msgs = append(msgs, fmt.Sprintf("role [%s] uses [run_as], which is not supported in serverless mode; only an empty list is accepted", role))
			}
		case "metadata":
			if isNull(v) {
				break
			}
			m, ok := rawObject(v)
			if !ok {
				return nil, nil, parseException("failed to parse role [%s]. expected field [metadata] to be of type object, but found [%s] instead", role, jsonKind(v))
			}
			md := map[string]any{}
			for _, k := range sortedKeys(m) {
				if strings.HasPrefix(k, "_") {
					msgs = append(msgs, "role descriptor metadata keys may not start with [_]")
				}
				val, e := decodeAny(m[k])
				if e != nil {
					return nil, nil, parseException("failed to parse role [%s]. invalid metadata", role)
				}
				md[k] = val
			}
			rd.Metadata = md
		case "transient_metadata":
			// Read and discarded: it always comes back as {"enabled":true}.
			if _, ok := rawObject(v); !ok && !isNull(v) {
				return nil, nil, parseException("failed to parse role [%s]. expected field [transient_metadata] to be an object, but found [%s] instead", role, jsonKind(v))
			}
		case "restriction":
			r, ok := rawObject(v)
			if !ok {
				return nil, nil, parseException("failed to parse role [%s]. expected field [restriction] to be an object", role)
			}
			for _, k := range sortedKeys(r) {
				if k != "workflows" {
					return nil, nil, parseException("failed to parse restriction for role [%s]. unexpected field [%s]", role, k)
				}
			}
			if wraw, ok := r["workflows"]; ok {
				wf, e := stringArray(role, "workflows", wraw)
				if e != nil {
					return nil, nil, e
				}
				for _, w := range wf {
					if w != "search_application_query" {
						return nil, nil, esBadRequest("illegal_argument_exception",
							fmt.Sprintf("Unknown workflow [%s]. A workflow must be one of the predefined workflow names [search_application_query].", w))
					}
				}
				if len(wf) > 0 {
					rd.Restriction = &restriction{Workflows: wf}
				}
			}
		default:
			// Includes `description` (rejected inside API key role
			// descriptors) and, choice for Serverless, `global`,
			// `remote_indices` and `remote_cluster`, which are not in the
			// Serverless schema.
			return nil, nil, parseException("failed to parse role [%s]. unexpected field [%s]", role, f)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return rd, msgs, nil
}

func parseIndices(role string, raw json.RawMessage, msgs []string) ([]indexPrivileges, []string, *esErr) {
	arr, ok := rawArray(raw)
	if !ok {
		return nil, msgs, parseException("failed to parse indices privileges for role [%s]. expected field [indices] value to be an array, but found [%s] instead", role, jsonKind(raw))
	}
	out := make([]indexPrivileges, 0, len(arr))
	for _, el := range arr {
		obj, ok := rawObject(el)
		if !ok {
			return nil, msgs, parseException("failed to parse indices privileges for role [%s]. expected field [indices] value to be an array of objects", role)
		}
		ip := indexPrivileges{}
		var haveNames, havePrivs bool
		for _, f := range sortedKeys(obj) {
			v := obj[f]
			switch f {
			case "names":
				haveNames = true
				if s, ok := rawString(v); ok {
					ip.Names = []string{s}
					break
				}
				names, err := stringArray(role, f, v)
				if err != nil {
					return nil, msgs, parseException("failed to parse indices privileges for role [%s]. expected field [names] value to be a string or an array of strings, but found [%s] instead", role, jsonKind(v))
				}
				ip.Names = names
			case "privileges":
				havePrivs = true
				privs, err := stringArray(role, f, v)
				if err != nil {
					return nil, msgs, err
				}
				ip.Privileges = privs
				for _, p := range privs {
					if !roledesc.ValidIndexPrivilege(p) {
						msgs = append(msgs, fmt.Sprintf("unknown index privilege [%s]. a privilege must be either one of the predefined fixed indices privileges [%s] or a pattern over one of the available index actions",
							strings.ToLower(p), strings.Join(roledesc.IndexPrivileges, ",")))
					}
				}
			case "field_security":
				fsObj, ok := rawObject(v)
				if !ok {
					return nil, msgs, parseException("failed to parse indices privileges for role [%s]. expected field [field_security] to be an object", role)
				}
				fs := &fieldSecurity{}
				for _, k := range sortedKeys(fsObj) {
					list, err := stringArray(role, k, fsObj[k])
					if err != nil {
						return nil, msgs, err
					}
					switch k {
					case "grant":
						fs.Grant = &list
					case "except":
						fs.Except = &list
					default:
						return nil, msgs, parseException("failed to parse indices privileges for role [%s]. unexpected field [%s]", role, k)
					}
				}
				if fs.Except != nil && fs.Grant == nil {
					return nil, msgs, parseException("failed to parse indices privileges for role [%s]. field_security requires grant if except is given", role)
				}
				ip.FieldSecurity = fs
			case "query":
				// Sent as an object (or a template), returned as a string
				// holding the JSON text.
				if s, ok := rawString(v); ok {
					ip.Query = &s
				} else if _, ok := rawObject(v); ok {
					var buf bytes.Buffer
					if err := json.Compact(&buf, v); err != nil {
						return nil, msgs, parseException("failed to parse indices privileges for role [%s]. invalid query", role)
					}
					q := buf.String()
					ip.Query = &q
				} else {
					return nil, msgs, parseException("failed to parse indices privileges for role [%s]. expected field [query] value to be a string or an object, but found [%s] instead", role, jsonKind(v))
				}
			case "allow_restricted_indices":
				var b bool
				if err := json.Unmarshal(v, &b); err != nil {
					return nil, msgs, parseException("failed to parse indices privileges for role [%s]. expected field [allow_restricted_indices] value to be a boolean, but found [%s] instead", role, jsonKind(v))
				}
				ip.AllowRestrictedIndices = b
			default:
				return nil, msgs, parseException("failed to parse indices privileges for role [%s]. unexpected field [%s]", role, f)
			}
		}
		if !haveNames {
			return nil, msgs, parseException("failed to parse indices privileges for role [%s]. missing required [names] field", role)
		}
		if !havePrivs {
			return nil, msgs, parseException("failed to parse indices privileges for role [%s]. missing required [privileges] field", role)
		}
		out = append(out, ip)
	}
	return out, msgs, nil
}

func parseApplications(role string, raw json.RawMessage) ([]appPrivileges, *esErr) {
	arr, ok := rawArray(raw)
	if !ok {
		return nil, parseException("failed to parse application privileges for role [%s]. expected field [applications] value to be an array, but found [%s] instead", role, jsonKind(raw))
	}
	out := make([]appPrivileges, 0, len(arr))
	for _, el := range arr {
		obj, ok := rawObject(el)
		if !ok {
			return nil, parseException("failed to parse application privileges for role [%s]. expected an object", role)
		}
		ap := appPrivileges{}
		seen := map[string]bool{}
		for _, f := range sortedKeys(obj) {
			v := obj[f]
			seen[f] = true
			var err *esErr
			switch f {
			case "application":
				s, ok := rawString(v)
				if !ok {
					return nil, parseException("failed to parse application privileges for role [%s]. expected field [application] value to be a string", role)
				}
				ap.Application = s
			case "privileges":
				ap.Privileges, err = stringArray(role, f, v)
			case "resources":
				ap.Resources, err = stringArray(role, f, v)
			default:
				return nil, parseException("failed to parse application privileges for role [%s]. unexpected field [%s]", role, f)
			}
			if err != nil {
				return nil, err
			}
		}
		for _, req := range []string{"application", "privileges", "resources"} {
			if !seen[req] {
				return nil, parseException("failed to parse application privileges for role [%s]. missing required [%s] field", role, req)
			}
		}
		out = append(out, ap)
	}
	return out, nil
}

// checkRestrictions applies the restriction rules of create and update.
func checkRestrictions(rds map[string]*roleDescriptor) *esErr {
	restricted := 0
	for _, rd := range rds {
		if rd.Restriction != nil {
			restricted++
		}
	}
	switch {
	case restricted > 1:
		return esBadRequest("illegal_argument_exception", "more than one role descriptor with restriction is not supported")
	case restricted == 1 && len(rds) > 1:
		return esBadRequest("illegal_argument_exception", "combining role descriptors with and without restriction is not supported")
	}
	return nil
}
