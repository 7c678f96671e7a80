// Package schema holds the manifest JSON Schema, embedded into the binary so
// that `slsync validate` and `slsync schema` never depend on a file beside the
// executable, and editors (yaml-language-server) see exactly the rules the CLI
// enforces.
package schema

import _ "embed"

// URL is the schema's absolute "$id". The validator registers the embedded
// bytes under this URL, so no network access ever happens, and the error
// locations it reports are stable whatever the working directory.
const URL = "https://slsync.dev/schema/manifest.schema.json"

// JSON is the manifest JSON Schema (draft 2020-12). Treat it as read-only.
//
//go:embed manifest.schema.json
var JSON []byte
