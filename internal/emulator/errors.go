package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
)

// cloudError is one entry of the Project API's MultiErrorResponse
// (`{"errors":[{"code","message"}]}`), the body of every 4xx/5xx there.
type cloudError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes of the Project API. Elastic does not publish the list for the
// Serverless API, so these follow the `<area>.<reason>` style of Elastic
// Cloud's other APIs (for example `root.unauthorized`).
const (
	codeUnauthorized   = "root.unauthorized"
	codeBadRequest     = "root.invalid_json_request"
	codeNotFound       = "root.resource_not_found"
	codeInvalid        = "projects.invalid_request"
	codeProjNotFound   = "projects.project_not_found"
	codeAliasConflict  = "projects.alias_already_in_use"
	codeStale          = "root.precondition_failed"
	codeConflict       = "projects.conflict"
	codeRegionNotFound = "regions.region_not_found"
	codeRateLimited    = "root.rate_limited"
	codeInternal       = "root.internal_error"
	codeMethod         = "root.method_not_allowed"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written here is built by this package from plain
		// types; failing to encode one is a bug, reported as such.
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"code":"root.internal_error","message":"encoding the response failed"}]}`)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte{'\n'})
}

func writeCloudErrors(w http.ResponseWriter, status int, errs ...cloudError) {
	writeJSON(w, status, map[string][]cloudError{"errors": errs})
}

// esErr is an Elasticsearch exception as the REST layer renders it:
// `{"error":{"root_cause":[...],"type","reason",...},"status":N}`.
type esErr struct {
	status   int
	typ      string
	reason   string
	extra    map[string]any // additional keys, e.g. header, additional_unsuccessful_credentials
	causedBy *esErr
	header   http.Header // response headers (WWW-Authenticate)
}

func (e *esErr) Error() string { return e.typ + ": " + e.reason }

func newESErr(status int, typ, reason string) *esErr {
	return &esErr{status: status, typ: typ, reason: reason}
}

func esBadRequest(typ, reason string) *esErr { return newESErr(http.StatusBadRequest, typ, reason) }

// validationErr renders action_request_validation_exception the way
// Elasticsearch joins its failures: "Validation Failed: 1: a;2: b;".
func validationErr(msgs []string) *esErr {
	var b bytes.Buffer
	b.WriteString("Validation Failed: ")
	for i, m := range msgs {
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString(": ")
		b.WriteString(m)
		b.WriteString(";")
	}
	return esBadRequest("action_request_validation_exception", b.String())
}

// cause renders one ErrorCause object with its keys in Elasticsearch's order:
// type, reason, extra keys (sorted), caused_by.
func (e *esErr) cause(withRoot bool) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	if withRoot {
		b.WriteString(`"root_cause":[`)
		b.Write(e.root().cause(false))
		b.WriteString(`],`)
	}
	b.WriteString(`"type":`)
	writeJSONValue(&b, e.typ)
	b.WriteString(`,"reason":`)
	writeJSONValue(&b, e.reason)
	keys := make([]string, 0, len(e.extra))
	for k := range e.extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteByte(',')
		writeJSONValue(&b, k)
		b.WriteByte(':')
		writeJSONValue(&b, e.extra[k])
	}
	if e.causedBy != nil {
		b.WriteString(`,"caused_by":`)
		b.Write(e.causedBy.cause(false))
	}
	b.WriteByte('}')
	return b.Bytes()
}

// root is what Elasticsearch reports as root_cause: the exception itself
// unless it wraps another Elasticsearch exception. Causes that are plain Java
// exceptions (illegal_argument_exception inside a parse failure) are not
// Elasticsearch exceptions, so the outer one stays the root.
func (e *esErr) root() *esErr {
	if e.causedBy != nil && e.causedBy.typ != "illegal_argument_exception" && e.causedBy.typ != "json_parse_exception" {
		return e.causedBy.root()
	}
	return e
}

func writeJSONValue(b *bytes.Buffer, v any) {
	enc, err := json.Marshal(v)
	if err != nil {
		enc = []byte(`null`)
	}
	b.Write(enc)
}

func (e *esErr) body() []byte {
	var b bytes.Buffer
	b.WriteString(`{"error":`)
	b.Write(e.cause(true))
	b.WriteString(`,"status":`)
	b.WriteString(strconv.Itoa(e.status))
	b.WriteString("}\n")
	return b.Bytes()
}

func writeESErr(w http.ResponseWriter, e *esErr) {
	for k, vs := range e.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	b := e.body()
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	w.Write(b)
}
