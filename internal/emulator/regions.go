package emulator

import (
	"net/http"
)

// region is one entry of GET /api/v1/serverless/regions.
type region struct {
	ID                     string `json:"id"`
	Name                   string `json:"name"`
	CSP                    string `json:"csp"`
	CSPRegion              string `json:"csp_region"`
	CountryCode            string `json:"country_code"`
	ProjectCreationEnabled bool   `json:"project_creation_enabled"`
}

// regions is a fixed, realistic list across the three cloud providers.
// Choice: gcp-asia-south1 is listed with project creation disabled, as the
// real list carries regions that exist but are closed to new projects; a
// create there is refused with 422.
var regions = []region{
	{"aws-us-east-1", "US East (N. Virginia)", "aws", "us-east-1", "US", true},
	{"aws-us-west-2", "US West (Oregon)", "aws", "us-west-2", "US", true},
	{"aws-eu-west-1", "EU (Ireland)", "aws", "eu-west-1", "IE", true},
	{"aws-eu-central-1", "EU (Frankfurt)", "aws", "eu-central-1", "DE", true},
	{"aws-ap-southeast-1", "Asia Pacific (Singapore)", "aws", "ap-southeast-1", "SG", true},
	{"aws-ap-south-1", "Asia Pacific (Mumbai)", "aws", "ap-south-1", "IN", true},
	{"gcp-us-central1", "Iowa (us-central1)", "gcp", "us-central1", "US", true},
	{"gcp-europe-west1", "Belgium (europe-west1)", "gcp", "europe-west1", "BE", true},
	{"gcp-asia-south1", "Mumbai (asia-south1)", "gcp", "asia-south1", "IN", false},
	{"azure-eastus", "East US (Virginia)", "azure", "eastus", "US", true},
	{"azure-westeurope", "West Europe (Netherlands)", "azure", "westeurope", "NL", true},
}

func findRegion(id string) (region, bool) {
	for _, r := range regions {
		if r.ID == id {
			return r, true
		}
	}
	return region{}, false
}

func (s *Server) listRegions(w http.ResponseWriter, r *http.Request) {
	if !s.cloudAuthOK(r) {
		s.writeUnauthorized(w)
		return
	}
	writeJSON(w, http.StatusOK, regions)
}

func (s *Server) getRegion(w http.ResponseWriter, r *http.Request) {
	if !s.cloudAuthOK(r) {
		s.writeUnauthorized(w)
		return
	}
	reg, ok := findRegion(r.PathValue("id"))
	if !ok {
		writeCloudErrors(w, http.StatusNotFound, cloudError{codeRegionNotFound,
			"region [" + r.PathValue("id") + "] not found; GET /api/v1/serverless/regions lists the available ones"})
		return
	}
	writeJSON(w, http.StatusOK, reg)
}
