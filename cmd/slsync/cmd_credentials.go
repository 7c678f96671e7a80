package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/state"
)

// CredentialsCmd manages the credentials file: the admin credentials of each
// project, which slsync needs to read and manage the project's API keys (an
// API key may not create scoped keys or update keys, so a user credential is
// needed). apply fills it for projects it creates; these commands fill it for
// projects slsync did not create. Passwords never appear on the command line
// or in any output.
type CredentialsCmd struct {
	Set   CredentialsSetCmd   `cmd:"" help:"Store a project's admin credentials (password read from stdin), after checking them against the project."`
	List  CredentialsListCmd  `cmd:"" help:"List the stored credentials (never the passwords)."`
	Reset CredentialsResetCmd `cmd:"" help:"Issue new admin credentials for a project (_reset-credentials) and store them."`
}

// projectRef names the project a credentials command acts on.
type projectRef struct {
	ManifestFlags
	ProjectKey string `arg:"" name:"project-key" help:"Project key (the manifests' map key, carried live in the slsync-key tag)."`
	Owner      string `name:"owner" placeholder:"NAME" help:"Owner (default: the owner of the manifests given with -f)."`
	ProjectID  string `name:"project-id" placeholder:"ID" help:"The project's id, for a project slsync does not manage yet (otherwise it is found by its slsync tags, or by the adopt marker in the manifests)."`

	set *model.Set // the manifests, when the owner came from them
}

// CredentialsSetCmd stores a project's admin credentials.
type CredentialsSetCmd struct {
	projectRef
	CloudFlags
	Username      string `name:"username" default:"admin" help:"Elasticsearch username of the project's admin credentials."`
	PasswordStdin bool   `name:"password-stdin" help:"Read the password from standard input (the only way to give it: a password on the command line would end up in shell history and process listings)."`
}

func (c *CredentialsSetCmd) Help() string {
	return `Finds the project (by its slsync tags, by the adopt marker of PROJECT_KEY in the manifests,
or by --project-id), checks the credentials with GET /_security/_authenticate on the project's
Elasticsearch endpoint, and stores them in the credentials file (mode 0600, written atomically
under a lock). Example:
  printf '%s' "$PASSWORD" | slsync credentials set search-prod --username admin --password-stdin -f manifests/`
}

func (c *CredentialsSetCmd) Run(app *App) error {
	if !c.PasswordStdin {
		return withExitCode(exitUsage, errors.New("the password is read from standard input only: pass --password-stdin and pipe it in (e.g. printf '%s' \"$PASSWORD\" | slsync credentials set ...)"))
	}
	if strings.TrimSpace(c.Username) == "" {
		return withExitCode(exitUsage, errors.New("--username is empty"))
	}
	raw, err := io.ReadAll(io.LimitReader(app.Stdin, 64<<10))
	if err != nil {
		return fmt.Errorf("reading the password from stdin: %w", err)
	}
	password := model.Secret(strings.TrimRight(string(raw), "\r\n"))
	if password.Reveal() == "" {
		return errors.New("no password on standard input; pipe it in, e.g. printf '%s' \"$PASSWORD\" | slsync credentials set ...")
	}
	owner, l, p, err := c.locate(app, &c.CloudFlags)
	if err != nil {
		return err
	}
	endpoint := p.Endpoints["elasticsearch"]
	if endpoint == "" {
		return fmt.Errorf("project %s (id %s) has no Elasticsearch endpoint; is it still being created?", c.ProjectKey, p.ID)
	}
	es, err := cloud.NewESClient(endpoint, c.Username, password, l.Opts)
	if err != nil {
		return err
	}
	who, err := es.Authenticate(app.Ctx)
	if err != nil {
		if cloud.IsUnauthorized(err) {
			return fmt.Errorf("project %s (id %s) rejected these credentials for user %s; nothing was stored — check the password, or issue new ones with `slsync credentials reset %s`",
				c.ProjectKey, p.ID, c.Username, c.ProjectKey)
		}
		return fmt.Errorf("checking the credentials against %s: %w; nothing was stored", endpoint, err)
	}
	entry := cloud.CredentialEntry{ProjectID: p.ID, Key: c.ProjectKey, Owner: owner, Username: c.Username, Password: password, Endpoint: endpoint}
	if err := cloud.UpdateCredentials(app.Ctx, l.CredsPath, func(cr *cloud.Credentials) error { return cr.Put(entry) }); err != nil {
		return err
	}
	fmt.Fprintf(app.Stdout, "Stored the credentials of project %s (id %s, user %s, authenticated as %s) in %s\n", c.ProjectKey, p.ID, c.Username, who.Username, l.CredsPath)
	return nil
}

// locate is how every credentials command starts: it settles the owner,
// connects with cf and finds the project.
func (r *projectRef) locate(app *App, cf *CloudFlags) (owner string, l *live, p *model.LiveProject, err error) {
	if owner, err = r.owner(app); err != nil {
		return "", nil, nil, err
	}
	if l, err = cf.connect(app); err != nil {
		return "", nil, nil, err
	}
	if p, err = r.find(app, l, owner); err != nil {
		return "", nil, nil, err
	}
	return owner, l, p, nil
}

// owner returns --owner, or the owner of the manifests at -f.
func (r *projectRef) owner(app *App) (string, error) {
	if !ownerRE.MatchString(r.ProjectKey) || len(r.ProjectKey) > 63 {
		return "", withExitCode(exitUsage, fmt.Errorf("project key %q: 1-63 characters, a lowercase letter or digit first, then lowercase letters, digits, '_' or '-'", r.ProjectKey))
	}
	if r.Owner != "" {
		if !ownerRE.MatchString(r.Owner) {
			return "", withExitCode(exitUsage, fmt.Errorf("--owner %q is not a valid owner (tag-value syntax)", r.Owner))
		}
		return r.Owner, nil
	}
	set, err := loadManifests(app, r.File)
	if err != nil {
		return "", fmt.Errorf("%w (pass --owner to name the owner without manifests)", err)
	}
	r.set = set
	return set.Owner, nil
}

// find locates the project: by --project-id; else among the live projects
// as a plan reads them (state.ListAll), by the owner's slsync tags; else,
// for a manifest project marked adopt, the project adoption would take (the
// plan's rule, state.Adoptee). Found by listing, it has no ETag.
func (r *projectRef) find(app *App, l *live, owner string) (*model.LiveProject, error) {
	ctx := app.Ctx
	if r.ProjectID != "" {
		for _, typ := range model.ProjectTypes {
			p, err := l.Projects.Get(ctx, typ, r.ProjectID)
			if cloud.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("reading project %s: %w", r.ProjectID, err)
			}
			lp := state.NormalizeProject(typ, *p)
			if lp.Key != "" && (lp.Owner != owner || lp.Key != r.ProjectKey) {
				return nil, fmt.Errorf("project %s is managed as slsync-owner: %s, slsync-key: %s, not as %s/%s; use that owner and key", r.ProjectID, lp.Owner, lp.Key, owner, r.ProjectKey)
			}
			return lp, nil
		}
		return nil, fmt.Errorf("no project has id %s (check it in the Elastic Cloud console or in the comments `slsync export` writes)", r.ProjectID)
	}
	all, err := state.ListAll(ctx, l.Projects)
	if err != nil {
		return nil, err
	}
	var found, others []*model.LiveProject
	for _, lp := range all {
		switch {
		case !lp.Managed(owner):
			others = append(others, lp)
		case lp.Key == r.ProjectKey:
			found = append(found, lp)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		ids := make([]string, len(found))
		for i, p := range found {
			ids[i] = p.ID
		}
		sort.Strings(ids)
		return nil, fmt.Errorf("%d projects carry slsync-owner: %s, slsync-key: %s (ids %s); pass --project-id", len(found), owner, r.ProjectKey, strings.Join(ids, ", "))
	}
	if r.set != nil {
		// The manifests were loaded for the owner: a project to adopt is
		// found the way the plan finds it.
		if dp := r.set.Projects[r.ProjectKey]; dp != nil && dp.Adopt != "" {
			if lp := state.Adoptee(dp, owner, others); lp != nil {
				return lp, nil
			}
			return nil, fmt.Errorf("project %s is marked adopt, but no single unmanaged %s project matches it (run `slsync plan` for the details), so its credentials cannot be stored; pass --project-id", r.ProjectKey, dp.Type)
		}
	}
	return nil, fmt.Errorf("no live project carries slsync-owner: %s, slsync-key: %s; for a project slsync does not manage yet, pass --project-id (the ids are in the comments `slsync export` writes), or mark it adopt in the manifests", owner, r.ProjectKey)
}

// CredentialsListCmd lists the stored credentials.
type CredentialsListCmd struct {
	CredentialsFlag
	Owner string `name:"owner" placeholder:"NAME" help:"List only this owner's projects."`
}

func (c *CredentialsListCmd) Run(app *App) error {
	path, err := c.credentialsPath()
	if err != nil {
		return err
	}
	creds, err := cloud.LoadCredentials(path)
	if err != nil {
		return err
	}
	var rows []cloud.CredentialEntry
	for _, id := range creds.ProjectIDs() {
		e, _ := creds.Lookup(id)
		if c.Owner == "" || e.Owner == c.Owner {
			rows = append(rows, e)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Owner != rows[j].Owner {
			return rows[i].Owner < rows[j].Owner
		}
		return rows[i].Key < rows[j].Key
	})
	if len(rows) == 0 {
		fmt.Fprintf(app.Stderr, "No credentials stored in %s.\n", path)
		return nil
	}
	tw := tabwriter.NewWriter(app.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OWNER\tPROJECT KEY\tPROJECT ID\tUSERNAME\tENDPOINT")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, e := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", dash(e.Owner), dash(e.Key), e.ProjectID, e.Username, dash(e.Endpoint))
	}
	return tw.Flush()
}

// CredentialsResetCmd issues new admin credentials and stores them.
type CredentialsResetCmd struct {
	projectRef
	CloudFlags
	Yes bool `name:"yes" short:"y" help:"Do not ask for confirmation (required when stdin is not a terminal)."`
}

func (c *CredentialsResetCmd) Help() string {
	return `Calls the Project API's _reset-credentials (with If-Match, so that it acts on the project
version it showed you) and stores the new credentials in the credentials file. The old
password stops working at once: anything else using it breaks. Asks for confirmation on a
terminal; without a terminal, --yes is required. The new password is never printed.`
}

func (c *CredentialsResetCmd) Run(app *App) error {
	owner, l, p, err := c.locate(app, &c.CloudFlags)
	if err != nil {
		return err
	}
	// The new password exists only in the answer to the reset: refuse a
	// credentials file that could not take it before the old one is gone.
	if _, err := l.credentials(); err != nil {
		return fmt.Errorf("%w; nothing was reset", err)
	}
	// The reset sends If-Match, so that it acts on the version shown below.
	if p.ETag == "" {
		if err := state.FetchETags(app.Ctx, l.Projects, []*model.LiveProject{p}, 1); err != nil {
			return err
		}
	}
	if !c.Yes {
		f, ok := app.Stdin.(*os.File)
		if !ok || !IsTerminal(f) {
			return withExitCode(exitError, fmt.Errorf("resetting the credentials of project %s (id %s) makes its current admin password stop working; stdin is not a terminal, so pass --yes to confirm", c.ProjectKey, p.ID))
		}
		fmt.Fprintf(app.Stderr, "Reset the admin credentials of %s project %q (key %s, id %s)?\nThe current password stops working at once. Type yes to continue: ", p.Type, p.Name, c.ProjectKey, p.ID)
		line, _ := bufio.NewReader(app.Stdin).ReadString('\n')
		if strings.TrimSpace(strings.ToLower(line)) != "yes" {
			return withExitCode(exitError, errors.New("not confirmed; nothing was changed"))
		}
	}
	cr, err := l.Projects.ResetCredentials(app.Ctx, p.Type, p.ID, p.ETag)
	if err != nil {
		if cloud.IsPreconditionFailed(err) {
			return fmt.Errorf("project %s (id %s) changed while this command ran, so nothing was reset; run it again", c.ProjectKey, p.ID)
		}
		return fmt.Errorf("resetting the credentials of project %s (id %s): %w", c.ProjectKey, p.ID, err)
	}
	entry := cloud.CredentialEntry{ProjectID: p.ID, Key: c.ProjectKey, Owner: owner, Username: cr.Username, Password: cr.Password, Endpoint: p.Endpoints["elasticsearch"]}
	if err := cloud.UpdateCredentials(app.Ctx, l.CredsPath, func(c *cloud.Credentials) error { return c.Put(entry) }); err != nil {
		return fmt.Errorf("the credentials of project %s (id %s) were reset but could not be stored (%w); fix that and run `slsync credentials reset %s` again", c.ProjectKey, p.ID, err, c.ProjectKey)
	}
	fmt.Fprintf(app.Stdout, "Reset the credentials of project %s (id %s); the new ones (user %s) are stored in %s\n", c.ProjectKey, p.ID, cr.Username, l.CredsPath)
	return nil
}
