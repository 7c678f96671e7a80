package manifest

import (
	"math"

	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/roledesc"
)

// buildProject turns one decoded project mapping into the model, following
// model's conventions: a field the manifest omits stays nil/"" (not
// specified, never compared), while an empty mapping such as `tags: {}` is a
// non-nil empty map (specified: none). Values of the wrong type were already
// reported and are left out.
func buildProject(key string, m map[string]any) *model.Project {
	p := &model.Project{Key: key}
	p.Type = model.ProjectType(str(m["type"]))
	p.Name = str(m["name"])
	p.Alias = str(m["alias"])
	p.RegionID = str(m["region_id"])
	if t, ok := m["tags"].(map[string]any); ok {
		p.Tags = make(map[string]string, len(t))
		for k, v := range t {
			if s, ok := v.(string); ok {
				p.Tags[k] = s
			}
		}
	}
	p.Protect, _ = m["protect"].(bool)
	switch a := m["adopt"].(type) {
	case bool:
		if a {
			p.Adopt = "true"
		}
	case string:
		p.Adopt = a
	}
	p.OptimizedFor = str(m["optimized_for"])
	p.ProductTier = str(m["product_tier"])
	p.AdminFeaturesPackage = str(m["admin_features_package"])
	if sl, ok := m["search_lake"].(map[string]any); ok {
		p.SearchLake = &model.SearchLake{}
		p.SearchLake.SearchPower, _ = toInt(sl["search_power"])
		p.SearchLake.BoostWindow, _ = toInt(sl["boost_window"])
		if dr, ok := sl["data_retention"].(map[string]any); ok {
			p.SearchLake.DataRetention = &model.DataRetention{}
			p.SearchLake.DataRetention.MaxRetentionDays, _ = toInt(dr["max_retention_days"])
			p.SearchLake.DataRetention.DefaultRetentionDays, _ = toInt(dr["default_retention_days"])
		}
	}
	if pts, ok := m["product_types"].([]any); ok {
		p.ProductTypes = make([]model.ProductType, 0, len(pts))
		for _, x := range pts {
			if pt, ok := x.(map[string]any); ok {
				p.ProductTypes = append(p.ProductTypes, model.ProductType{ProductLine: str(pt["product_line"]), ProductTier: str(pt["product_tier"])})
			}
		}
	}
	if keys, ok := m["api_keys"].(map[string]any); ok {
		p.APIKeys = make(map[string]*model.APIKey, len(keys))
		for name, v := range keys {
			km, ok := v.(map[string]any)
			if !ok {
				continue
			}
			k := &model.APIKey{Key: name, Name: name}
			if n := str(km["name"]); n != "" {
				k.Name = n
			}
			k.Expiration = str(km["expiration"])
			k.RotateBefore = str(km["rotate_before"])
			if rd, ok := km["role_descriptors"].(map[string]any); ok {
				k.RoleDescriptors = roledesc.Plain(rd).(map[string]any)
			}
			if md, ok := km["metadata"].(map[string]any); ok {
				k.Metadata = roledesc.Plain(md).(map[string]any)
			}
			p.APIKeys[name] = k
		}
	}
	return p
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// toInt converts a decoded YAML number to an int when it is a whole number
// that fits.
func toInt(v any) (*int, bool) {
	var f float64
	switch n := v.(type) {
	case uint64:
		if n > math.MaxInt32 {
			return nil, false
		}
		i := int(n)
		return &i, true
	case int64:
		if n > math.MaxInt32 || n < math.MinInt32 {
			return nil, false
		}
		i := int(n)
		return &i, true
	case float64:
		f = n
	default:
		return nil, false
	}
	if f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return nil, false
	}
	i := int(f)
	return &i, true
}
