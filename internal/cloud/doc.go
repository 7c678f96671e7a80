// Package cloud holds slsync's HTTP clients for the two APIs it talks to — the
// Elastic Cloud Serverless Project API (ProjectClient) and one project's
// Elasticsearch security API (ESClient) — and the credentials file in which
// slsync keeps each project's admin credentials.
//
// Both clients share one request loop (see transport.go) so that they agree on
// the things that are easy to get subtly wrong:
//
//   - which calls may be repeated after a failure: reads always; writes only
//     when the request provably was not processed (connection refused, 429),
//     or when repeating cannot do harm (If-Match writes, updates that set a
//     value, invalidation). A non-idempotent write whose outcome is unknown
//     returns an error for which IsOutcomeUnknown is true, so that the caller
//     re-reads live state instead of creating a duplicate;
//   - exponential backoff with full jitter, Retry-After honoured, context
//     respected while waiting;
//   - Elastic Cloud's rate-limit headers: a ProjectClient holds calls back
//     when its window runs low instead of waiting to be refused (pacer.go);
//   - secrets: the Cloud API key and project passwords travel as model.Secret
//     and are only revealed into the Authorization header. Error texts coming
//     back from a server are scrubbed of them before they reach an error
//     value, and nothing about a request except method, path and status is
//     logged.
package cloud
