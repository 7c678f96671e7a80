package main

// CLI is the whole command tree. Each command lives in its own cmd_*.go file.
type CLI struct {
	Globals

	Validate    ValidateCmd    `cmd:"" help:"Check manifests against the schema and slsync's rules, reporting every problem at its file:line:column."`
	Plan        PlanCmd        `cmd:"" help:"Show what apply would change to make the live organisation match the manifests."`
	Apply       ApplyCmd       `cmd:"" help:"Make the live organisation match the manifests."`
	Watch       WatchCmd       `cmd:"" help:"Re-validate and re-plan on every save of the manifests."`
	Adopt       AdoptCmd       `cmd:"" help:"Put one existing project under management without recreating it."`
	Export      ExportCmd      `cmd:"" help:"Write manifests for projects that already exist."`
	Credentials CredentialsCmd `cmd:"" help:"Manage the project admin credentials slsync uses for API keys."`
	Emulator    EmulatorCmd    `cmd:"" help:"Run a local emulator of the Serverless Project API and each project's Elasticsearch API keys."`
	Schema      SchemaCmd      `cmd:"" help:"Print the manifest JSON Schema (for editors and yaml-language-server)."`
	Version     VersionCmd     `cmd:"" help:"Print slsync's version."`
}
