//go:build !linux

package main

import "os"

// ttyColumns is not implemented here; TerminalWidth falls back to $COLUMNS.
func ttyColumns(*os.File) int { return 0 }
