package main

import "fmt"

// VersionCmd prints the version.
type VersionCmd struct{}

func (c *VersionCmd) Run(app *App) error {
	fmt.Fprintf(app.Stdout, "slsync %s\n", buildVersion())
	return nil
}
