// Package manifest reads a manifest set (a YAML file or a directory of them),
// checks it against the embedded JSON Schema and the rules a schema cannot
// express, and builds the model.Set that plan and apply work from.
//
// Every problem is a Diagnostic located at file:line:column of the offending
// key, so that one run reports everything a user has to fix; only I/O
// failures are Go errors. The loader never panics on any input: go-yaml's
// known traps (dropped documents, alias bombs) are guarded, NaN/Inf are
// rejected before the schema validator sees them, and a panic inside a
// library while reading one file becomes a diagnostic for that file.
package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/slsync/slsync/internal/model"
)

// Garbage-collector settings that suit a short-lived process loading a
// manifest set: parsing YAML makes a lot of short-lived garbage (tokens,
// AST), and at Go's default GOGC=100 about a third of the CPU time of
// loading 2,000 projects went to collection. The CLI applies them (unless
// the user set GOGC/GOMEMLIMIT); BenchmarkLoadLarge measures both.
const (
	LoadGCPercent   = 300
	LoadMemoryLimit = 240 << 20 // bytes; a soft limit that bounds the peak
)

// File is one manifest file: the path shown in diagnostics and its content.
type File struct {
	Path string
	Src  []byte
}

// IsManifestFile reports whether a file name is one slsync reads from a
// directory: *.yaml or *.yml, but not hidden files and editor leftovers
// (".x.yaml.swp", "#x.yaml#", "x.yaml~"), which appear and vanish while
// someone edits and must not change what a plan sees.
func IsManifestFile(name string) bool {
	base := filepath.Base(name)
	if strings.HasPrefix(base, ".") || strings.HasPrefix(base, "#") || strings.HasSuffix(base, "~") {
		return false
	}
	return strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml")
}

// ListFiles returns the manifest files of root, sorted by path: root itself
// when it is a file (whatever its name: it was asked for explicitly), or
// every IsManifestFile under the directory root, recursively, skipping
// hidden directories (.git, .slsync).
func ListFiles(root string) ([]string, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("reading manifests: %w", err)
	}
	if !fi.IsDir() {
		return []string{root}, nil
	}
	var out []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !IsManifestFile(d.Name()) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading manifests under %s: %w", root, err)
	}
	sort.Strings(out)
	return out, nil
}

// ReadFiles reads every file ListFiles(root) returns.
func ReadFiles(root string) ([]File, error) {
	paths, err := ListFiles(root)
	if err != nil {
		return nil, err
	}
	files := make([]File, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading manifests: %w", err)
		}
		files = append(files, File{Path: p, Src: b})
	}
	return files, nil
}

// Load reads the manifest set at path (a file, or a directory read
// recursively) and checks it. The error is only for I/O problems; every
// problem of the manifests themselves is in Diagnostics, sorted by file,
// line and column. The Set is filled as far as the manifests allow even when
// there are errors; callers must not act on it when diags.HasErrors().
//
// Set.Digest hashes the files' paths relative to path (so that "-f dir" and
// "-f ./dir/" agree) and their contents.
func Load(path string) (*model.Set, Diagnostics, error) {
	files, err := ReadFiles(path)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f.Path)
		if rel, err := filepath.Rel(path, f.Path); err == nil && rel != "." {
			names[i] = filepath.ToSlash(rel)
		}
	}
	set, diags := load(files, names)
	if len(files) == 0 {
		diags = append(diags, Diagnostic{Severity: SeverityError, Location: model.Location{File: path},
			Message: "no manifest files (*.yaml, *.yml) found; pass -f with a manifest file or a directory that holds some (hidden files and directories are skipped)"})
	}
	return set, diags, nil
}

// LoadFiles checks in-memory manifest files as Load does, without touching
// the file system (for tests, fuzzing and editors). Files are ordered by
// Path; the digest covers their Paths as given.
func LoadFiles(files []File) (*model.Set, Diagnostics) {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Path
	}
	return load(files, names)
}

func load(files []File, names []string) (*model.Set, Diagnostics) {
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return files[order[a]].Path < files[order[b]].Path })

	v, err := compiledSchema()
	if err != nil {
		// The embedded schema is part of the binary; a test compiles it.
		panic(err)
	}

	// Files are independent until merged, so read them in parallel (parsing
	// dominates the cost of a large set) and merge in path order.
	results := make([]*fileResult, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, idx := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = processFile(v, files[idx])
		}()
	}
	wg.Wait()

	set := &model.Set{Projects: map[string]*model.Project{}}
	var diags Diagnostics
	byFile := map[string]*fileResult{}
	for _, r := range results {
		byFile[r.path] = r
		set.Files = append(set.Files, r.path)
		diags = append(diags, r.diags...)
	}
	merge := func(at model.Location, path, msg string, sev Severity) {
		d := Diagnostic{Severity: sev, Location: at, Path: path, Message: msg}
		if r := byFile[at.File]; r != nil {
			d.SourceLine = r.line(at.Line)
		}
		diags = append(diags, d)
	}
	type aliasUse struct {
		key string
		at  model.Location
	}
	aliases := map[string]aliasUse{}
	for _, r := range results {
		for _, d := range r.docs {
			if d.hasOwner {
				switch {
				case set.Owner == "":
					set.Owner, set.OwnerAt = d.owner, d.ownerAt
				case d.owner != set.Owner:
					merge(d.ownerAt, "owner", fmt.Sprintf("owner %q differs from owner %q at %s; every file and document of a manifest set must name the same owner (keep each owner's manifests in a directory of their own)",
						d.owner, set.Owner, set.OwnerAt), SeverityError)
				}
			}
			for _, p := range d.projects {
				if prev, ok := set.Projects[p.Key]; ok {
					merge(p.At, "projects."+p.Key, fmt.Sprintf("project key %q is already defined at %s; a project key may be defined only once in a manifest set (rename one of them)",
						p.Key, prev.At), SeverityError)
					continue
				}
				set.Projects[p.Key] = p
				if p.Alias != "" {
					if prev, ok := aliases[p.Alias]; ok {
						merge(p.At, "projects."+p.Key+".alias", fmt.Sprintf("alias %q is also requested by project %q at %s; a project's endpoints and adoption are found by alias, so give each project its own",
							p.Alias, prev.key, prev.at), SeverityWarning)
					} else {
						aliases[p.Alias] = aliasUse{p.Key, p.At}
					}
				}
			}
		}
	}
	set.Digest = digest(files, names)
	diags = dedupe(diags)
	diags.Sort()
	return set, diags
}

// digest hashes (name, content) pairs sorted by name, length-prefixed so
// that no two different sets hash alike.
func digest(files []File, names []string) string {
	idx := make([]int, len(files))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return names[idx[a]] < names[idx[b]] })
	h := sha256.New()
	var n [8]byte
	for _, i := range idx {
		binary.BigEndian.PutUint64(n[:], uint64(len(names[i])))
		h.Write(n[:])
		h.Write([]byte(names[i]))
		binary.BigEndian.PutUint64(n[:], uint64(len(files[i].Src)))
		h.Write(n[:])
		h.Write(files[i].Src)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func dedupe(ds Diagnostics) Diagnostics {
	type k struct {
		loc        model.Location
		path, msg  string
		sev        Severity
		sourceLine string
	}
	seen := map[k]bool{}
	out := ds[:0]
	for _, d := range ds {
		key := k{d.Location, d.Path, d.Message, d.Severity, d.SourceLine}
		if !seen[key] {
			seen[key] = true
			out = append(out, d)
		}
	}
	return out
}

// fileResult is what one file contributes before merging.
type fileResult struct {
	path  string
	src   []byte
	docs  []docResult
	diags Diagnostics

	linesOnce  sync.Once
	lineStarts []int
}

// docResult is one YAML document's contribution.
type docResult struct {
	owner    string
	ownerAt  model.Location
	hasOwner bool
	projects []*model.Project
}

// line returns the text of 1-based line n ("" if out of range). Lines end
// at "\n", "\r\n" or a lone "\r", as in YAML (and go-yaml's positions).
func (r *fileResult) line(n int) string {
	r.linesOnce.Do(func() {
		r.lineStarts = []int{0}
		for i := 0; i < len(r.src); i++ {
			switch r.src[i] {
			case '\r':
				if i+1 < len(r.src) && r.src[i+1] == '\n' {
					i++
				}
				r.lineStarts = append(r.lineStarts, i+1)
			case '\n':
				r.lineStarts = append(r.lineStarts, i+1)
			}
		}
	})
	if n < 1 || n > len(r.lineStarts) {
		return ""
	}
	start, end := r.lineStarts[n-1], len(r.src)
	if n < len(r.lineStarts) {
		end = r.lineStarts[n]
	}
	return strings.TrimRight(string(r.src[start:end]), "\r\n")
}

func (r *fileResult) add(sev Severity, p pos, path, msg string) {
	d := Diagnostic{Severity: sev, Location: model.Location{File: r.path, Line: p.line, Column: p.col}, Path: path, Message: msg}
	if p.line > 0 {
		d.SourceLine = r.line(p.line)
	}
	r.diags = append(r.diags, d)
}

// yamlErrorPos extracts a go-yaml error's message and position.
func yamlErrorPos(err error) (string, pos) {
	var ye yaml.Error
	if errors.As(err, &ye) {
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			return ye.GetMessage(), pos{tk.Position.Line, tk.Position.Column}
		}
		return ye.GetMessage(), pos{}
	}
	return err.Error(), pos{}
}

// docHeaders counts lines starting with "---": the empty-document guard
// tokenizes the file only when there could be two in a row.
func docHeaders(src []byte) int {
	n := 0
	if bytes.HasPrefix(src, []byte("---")) {
		n++
	}
	return n + bytes.Count(src, []byte("\n---"))
}

// yamlFailure carries an ordinary error out of guard.
type yamlFailure struct{ err error }

// guard runs a call into a library (go-yaml, jsonschema) and turns a panic
// inside it into an error, so that one unlucky file becomes a diagnostic
// instead of a crash. slsync's own code is deliberately not guarded: the
// fuzz tests must see its panics.
func guard(fn func()) (err error) {
	defer func() {
		if e := recover(); e != nil {
			if yf, ok := e.(yamlFailure); ok {
				err = yf.err
				return
			}
			err = fmt.Errorf("the YAML/schema library failed on this file (%v); simplify the YAML around the reported line", e)
		}
	}()
	fn()
	return nil
}

func processFile(v *validator, f File) (r *fileResult) {
	r = &fileResult{path: f.Path, src: f.Src}
	if docHeaders(f.Src) >= 2 {
		var line int
		if err := guard(func() { line = emptyDocLine(string(f.Src)) }); err != nil {
			r.add(SeverityError, pos{}, "", err.Error())
			return r
		}
		if line > 0 {
			r.add(SeverityError, pos{line, 1}, "", "empty YAML document: two '---' separators with nothing between them; remove one (the YAML library would silently drop the documents after it)")
			return r
		}
	}
	var file *ast.File
	err := guard(func() {
		var err error
		file, err = parser.ParseBytes(f.Src, 0, parser.AllowDuplicateMapKey())
		if err != nil {
			panic(yamlFailure{err})
		}
	})
	if err != nil {
		msg, p := yamlErrorPos(err)
		r.add(SeverityError, p, "", "YAML syntax error: "+msg)
		return r
	}
	docs := 0
	for _, d := range file.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		docs++
		r.doc(v, d.Body)
	}
	if docs == 0 {
		r.add(SeverityWarning, pos{}, "", "no manifest in this file (it is empty or holds only comments)")
	}
	return r
}

// doc checks one document: duplicate keys, decoding, non-finite numbers,
// the schema, then slsync's own rules, and builds its projects. Each later
// stage stays quiet about a field an earlier one already blamed, so a user
// sees one message per mistake.
func (r *fileResult) doc(v *validator, body ast.Node) {
	value, dups, plain := plainDecode(body)
	ix := &docIndex{dups: dups}
	if !plain {
		ix = indexDoc(body)
		if ix.tooDeep {
			r.add(SeverityError, nodePos(body), "", fmt.Sprintf("YAML nested deeper than %d levels", maxNesting))
			return
		}
		if ix.aliasBomb() {
			r.add(SeverityError, nodePos(body), "", fmt.Sprintf("YAML aliases expand this document from %d to %d values; use fewer nested aliases", ix.literal, ix.expanded))
			return
		}
		err := guard(func() {
			var err error
			if value, err = goyamlDecode(body); err != nil {
				panic(yamlFailure{err})
			}
		})
		if err != nil {
			msg, p := yamlErrorPos(err)
			if p.line == 0 {
				p = nodePos(body)
			}
			r.add(SeverityError, p, "", "cannot read YAML: "+msg)
			return
		}
	}

	blamed := map[string]bool{}
	emit := func(stage []issue) {
		var paths []string
		for _, is := range stage {
			dp := dotted(value, is.path)
			if blamed[dp] {
				continue
			}
			at := r.locate(ix, body, is.path)
			sev := SeverityError
			if is.warn {
				sev = SeverityWarning
			} else {
				paths = append(paths, dp)
			}
			r.add(sev, at, dp, is.message)
		}
		for _, p := range paths {
			blamed[p] = true
		}
	}

	// Stage 1: what YAML allows but a manifest cannot hold. A duplicate is
	// reported at each repeated key, not at the occurrence the decoder keeps.
	for _, d := range ix.dups {
		dp := dotted(value, d.path)
		first := nodePos(d.first)
		r.add(SeverityError, nodePos(d.dupe), dp, fmt.Sprintf("key %q is written twice in this mapping (first at %s:%d:%d); keep one",
			d.path[len(d.path)-1], r.path, first.line, first.col))
		blamed[dp] = true
	}
	if f, ok := value.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		value = nil
	}
	var stage []issue
	for _, p := range nonFinite(value, nil) {
		stage = append(stage, issue{path: p, message: "not a finite number (.inf/.nan); use a whole number"})
	}
	emit(stage)

	// Stage 2: the schema.
	var schemaIssues []issue
	err := guard(func() {
		var err error
		if schemaIssues, err = v.validate(value); err != nil {
			panic(yamlFailure{err})
		}
	})
	if err != nil {
		r.add(SeverityError, nodePos(body), "", "cannot check this document against the schema: "+err.Error())
		return
	}
	emit(schemaIssues)

	// Stage 3: rules the schema cannot express.
	emit(checkDoc(value))

	// Build.
	m, ok := value.(map[string]any)
	if !ok {
		return
	}
	var res docResult
	if o, ok := m["owner"].(string); ok && !blamed["owner"] {
		res.owner, res.hasOwner = o, true
		res.ownerAt = r.loc(r.locate(ix, body, []string{"owner"}))
	}
	projects, _ := m["projects"].(map[string]any)
	for _, key := range model.SortedKeys(projects) {
		pm, ok := projects[key].(map[string]any)
		if !ok {
			continue
		}
		p := buildProject(key, pm)
		p.At = r.loc(r.locate(ix, body, []string{"projects", key}))
		for name, k := range p.APIKeys {
			k.At = r.loc(r.locate(ix, body, []string{"projects", key, "api_keys", name}))
		}
		res.projects = append(res.projects, p)
	}
	r.docs = append(r.docs, res)
}

func (r *fileResult) loc(p pos) model.Location {
	return model.Location{File: r.path, Line: p.line, Column: p.col}
}

// locate returns the position to blame for path: the key that names the
// field (an unknown field at its own line), a sequence item itself, or, when
// the path is not in the AST (merged through "<<"), the nearest ancestor.
func (r *fileResult) locate(ix *docIndex, body ast.Node, path []string) pos {
	val, key, _ := ix.lookup(body, path)
	if key != nil {
		if p := nodePos(key); p.line > 0 {
			return p
		}
	}
	if p := nodePos(val); p.line > 0 {
		return p
	}
	return nodePos(body)
}

// dotted renders a path the way users write it: projects.alpha.api_keys.r,
// with [i] for list items.
func dotted(value any, path []string) string {
	var b strings.Builder
	cur, known := value, true
	for _, s := range path {
		isIndex := false
		if known {
			switch c := cur.(type) {
			case map[string]any:
				cur = c[s]
			case []any:
				isIndex = true
				i, err := strconv.Atoi(s)
				if err == nil && i >= 0 && i < len(c) {
					cur = c[i]
				} else {
					known = false
				}
			default:
				known = false
			}
		}
		if isIndex {
			b.WriteString("[" + s + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// nonFinite finds float NaN/±Inf values (YAML .nan/.inf), which crash the
// schema validator (go-libraries.md §2.5), and replaces them with nil.
func nonFinite(v any, path []string) [][]string {
	var out [][]string
	bad := func(x any) bool {
		f, ok := x.(float64)
		return ok && (math.IsNaN(f) || math.IsInf(f, 0))
	}
	var walk func(v any)
	walk = func(v any) {
		switch c := v.(type) {
		case map[string]any:
			for k, e := range c {
				path = append(path, k)
				if bad(e) {
					c[k] = nil
					out = append(out, append([]string(nil), path...))
				} else {
					walk(e)
				}
				path = path[:len(path)-1]
			}
		case []any:
			for i, e := range c {
				path = append(path, strconv.Itoa(i))
				if bad(e) {
					c[i] = nil
					out = append(out, append([]string(nil), path...))
				} else {
					walk(e)
				}
				path = path[:len(path)-1]
			}
		}
	}
	walk(v)
	return out
}
