package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/slsync/slsync/internal/apply"
	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/manifest"
	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/plan"
	"github.com/slsync/slsync/internal/state"
)

// ManifestFlags name the manifest set.
type ManifestFlags struct {
	File string `short:"f" name:"file" default:"." placeholder:"PATH" help:"Manifest file or directory (read recursively, *.yaml/*.yml)."`
}

// CloudFlags are the flags of every command that talks to the live
// organisation. The Cloud API key is deliberately not a flag: a value on the
// command line ends up in shell history and process listings, so it comes
// from $EC_API_KEY or a file.
type CloudFlags struct {
	Endpoint   string `name:"endpoint" env:"EC_ENDPOINT,EC_HOST" placeholder:"URL" help:"Serverless Project API base URL (default https://api.elastic-cloud.com; the emulator prints its own)."`
	APIKeyFile string `name:"api-key-file" placeholder:"FILE" help:"Read the Elastic Cloud API key from FILE instead of $EC_API_KEY."`
	CredentialsFlag
	Parallelism int `name:"parallelism" default:"8" help:"Concurrent calls to project Elasticsearch endpoints."`
}

// CredentialsFlag names the project admin credentials file.
type CredentialsFlag struct {
	CredentialsFile string `name:"credentials-file" env:"SLSYNC_CREDENTIALS_FILE" placeholder:"FILE" help:"Project admin credentials file (default: slsync/credentials.json in your config directory)."`
}

// credentialsPath returns --credentials-file, else the default location.
func (f *CredentialsFlag) credentialsPath() (string, error) {
	if f.CredentialsFile != "" {
		return f.CredentialsFile, nil
	}
	return cloud.DefaultCredentialsPath(os.Getenv)
}

// apiKey returns the Cloud API key from --api-key-file or $EC_API_KEY.
func (f *CloudFlags) apiKey() (model.Secret, error) {
	if f.APIKeyFile != "" {
		b, err := os.ReadFile(f.APIKeyFile)
		if err != nil {
			return "", fmt.Errorf("reading --api-key-file: %w", err)
		}
		k := strings.TrimSpace(string(b))
		if k == "" {
			return "", fmt.Errorf("--api-key-file %s is empty", f.APIKeyFile)
		}
		return model.Secret(k), nil
	}
	if k := strings.TrimSpace(os.Getenv("EC_API_KEY")); k != "" {
		return model.Secret(k), nil
	}
	return "", errors.New("no Elastic Cloud API key: set EC_API_KEY (or use --api-key-file); " +
		"for a local run start `slsync emulator` and paste the export lines it prints")
}

func (f *CloudFlags) endpoint() string {
	if f.Endpoint != "" {
		return cloud.NormalizeEndpoint(f.Endpoint)
	}
	return cloud.EndpointFromEnv(os.Getenv)
}

func (f *CloudFlags) parallelism() int {
	if f.Parallelism < 1 {
		return state.DefaultParallelism
	}
	return f.Parallelism
}

// live holds the clients of one run. It keeps the credentials file's path,
// not its content: the file changes under a run (apply and watch --apply
// store the credentials of projects they create, `slsync credentials set`
// may run alongside watch), so each read of the live state loads it afresh.
type live struct {
	Projects  *cloud.ProjectClient
	CredsPath string
	Opts      cloud.Options
}

// connect builds the clients and settles the credentials file's path.
func (f *CloudFlags) connect(app *App) (*live, error) {
	key, err := f.apiKey()
	if err != nil {
		return nil, err
	}
	opts := cloud.Options{
		HTTPClient: cloud.NewHTTPClient(cloud.DefaultTimeout),
		UserAgent:  cloud.UserAgent(buildVersion()),
		Logger:     app.Log,
	}
	pc, err := cloud.NewProjectClient(f.endpoint(), key, opts)
	if err != nil {
		return nil, err
	}
	path, err := f.credentialsPath()
	if err != nil {
		return nil, err
	}
	return &live{Projects: pc, CredsPath: path, Opts: opts}, nil
}

// credentials loads the credentials file as it is now.
func (l *live) credentials() (*cloud.Credentials, error) {
	return cloud.LoadCredentials(l.CredsPath)
}

// loadManifests loads and checks the manifest set, printing every diagnostic
// to stderr. It fails (exit 1) when any is an error.
func loadManifests(app *App, path string) (*model.Set, error) {
	set, diags, err := manifest.Load(path)
	if err != nil {
		return nil, err
	}
	if len(diags) > 0 {
		_ = diags.WriteText(app.Stderr, UseColor(app.Stderr))
	}
	if diags.HasErrors() {
		return nil, withExitCode(exitError, &invalidManifestsError{errors: diags.Count(manifest.SeverityError)})
	}
	return set, nil
}

// invalidManifestsError says the manifests did not pass their checks; the
// located diagnostics were printed already.
type invalidManifestsError struct{ errors int }

func (e *invalidManifestsError) Error() string {
	return fmt.Sprintf("%d error(s) in the manifests; nothing was read or changed", e.errors)
}

// read reads the live state the set's owner has, with the credentials file
// as it is now.
func (l *live) read(ctx context.Context, app *App, set *model.Set, parallelism int) (*model.LiveState, error) {
	creds, err := l.credentials()
	if err != nil {
		return nil, err
	}
	r := &state.Reader{
		Projects:    l.Projects,
		Credentials: creds,
		NewKeyAPI:   state.ESClients(l.Opts),
		Parallelism: parallelism,
		Logger:      app.Log,
	}
	return r.Read(ctx, set)
}

// planOnce is the pipeline plan, apply and watch share: load and check the
// manifests, read the live state, diff.
func planOnce(ctx context.Context, app *App, mf *ManifestFlags, cf *CloudFlags, l *live, allowReplace bool) (*model.Set, *model.LiveState, *plan.Plan, error) {
	set, err := loadManifests(app, mf.File)
	if err != nil {
		return nil, nil, nil, err
	}
	st, p, err := planSet(ctx, app, cf, l, set, allowReplace)
	return set, st, p, err
}

// planSet reads the live state for an already loaded set and diffs.
func planSet(ctx context.Context, app *App, cf *CloudFlags, l *live, set *model.Set, allowReplace bool) (*model.LiveState, *plan.Plan, error) {
	st, err := l.read(ctx, app, set, cf.parallelism())
	if err != nil {
		return nil, nil, fmt.Errorf("reading the live organisation: %w", err)
	}
	opts := plan.Options{AllowReplace: allowReplace, Now: nowUTC()}
	p := plan.Compute(set, st, opts)
	// List items carry no ETag; read it (one GET each) only for the projects
	// the plan will change, so that apply can send If-Match and a saved plan
	// records the version it saw, while a no-change plan stays at 3+P calls.
	if err := apply.FillETags(ctx, l.Projects, p, cf.parallelism()); err != nil {
		return st, nil, fmt.Errorf("reading projects to change: %w", err)
	}
	return st, p, nil
}
