// Package conformance drives slsync's emulator with Elastic's official Go
// client (github.com/elastic/go-elasticsearch/v8) and checks the emulator's
// Project API answers against the published shapes with strict decoding.
//
// Why a separate module: slsync itself may depend on five libraries only, and
// our own client (internal/cloud) was written by the same people as the
// emulator, so it could share their misunderstandings. A client written by
// Elastic cannot. Any response the official client refuses (product check,
// JSON it cannot decode, errors it cannot turn into *types.ElasticsearchError)
// or any field its types do not know fails a test here.
//
// The package holds only tests; run them with `make conformance` (part of
// `make test`) or `cd conformance && go test ./...`.
package conformance
