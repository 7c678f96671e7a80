// Package roledesc knows Elasticsearch role descriptors as API keys carry
// them: which privilege names Serverless accepts, and (canonical.go) the
// normal form that makes a descriptor from a manifest and the same descriptor
// read back from Elasticsearch compare equal.
package roledesc

import "strings"

// ClusterPrivileges are the cluster privileges valid on Elastic Cloud
// Serverless: the Serverless OpenAPI enum, less the two the privilege docs
// mark unavailable there (manage_behavioral_analytics,
// post_behavioral_analytics_event), plus manage_connector/monitor_connector
// which the docs list without a Serverless restriction.
// Source: shared/reference/elasticsearch-api-keys.md §12.
var ClusterPrivileges = []string{
	"all", "cancel_task", "manage", "manage_api_key", "manage_connector",
	"manage_enrich", "manage_esql", "manage_index_templates", "manage_inference",
	"manage_ingest_pipelines", "manage_logstash_pipelines", "manage_ml",
	"manage_own_api_key", "manage_pipeline", "manage_project_routing",
	"manage_reindex", "manage_search_application", "manage_search_query_rules",
	"manage_search_synonyms", "manage_security", "manage_transform", "monitor",
	"monitor_connector", "monitor_enrich", "monitor_esql", "monitor_inference",
	"monitor_ml", "monitor_reindex", "monitor_transform", "none",
	"read_pipeline", "read_project_routing", "read_security",
}

// IndexPrivileges are the index privileges valid on Serverless (OpenAPI enum).
var IndexPrivileges = []string{
	"all", "auto_configure", "create", "create_doc", "create_index",
	"create_view", "delete", "delete_index", "delete_view", "index",
	"maintenance", "manage", "manage_data_stream_lifecycle", "manage_view",
	"monitor", "none", "read", "read_view_metadata", "view_index_metadata",
	"write",
}

var (
	clusterSet = toSet(ClusterPrivileges)
	indexSet   = toSet(IndexPrivileges)
)

func toSet(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

// ValidClusterPrivilege reports whether Elasticsearch accepts p as a cluster
// privilege: a predefined name (case-insensitive, as Elasticsearch validates)
// or a pattern over cluster actions such as "cluster:monitor/*".
func ValidClusterPrivilege(p string) bool {
	if clusterSet[strings.ToLower(p)] {
		return true
	}
	return strings.HasPrefix(p, "cluster:") && len(p) > len("cluster:")
}

// ValidIndexPrivilege reports whether Elasticsearch accepts p as an index
// privilege: a predefined name or a pattern over index actions such as
// "indices:data/read/*".
func ValidIndexPrivilege(p string) bool {
	if indexSet[strings.ToLower(p)] {
		return true
	}
	return strings.HasPrefix(p, "indices:") && len(p) > len("indices:")
}
