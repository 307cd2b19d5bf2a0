// Package configs holds the example configurations. `sceau init` writes
// Embedded into a new data folder; a test keeps both valid.
package configs

import _ "embed"

// Embedded is the configuration of the embedded default (SQLite, local
// files, mail sink), with paths relative to its folder.
//
//go:embed embedded.toml
var Embedded []byte

// Production is the commented production example.
//
//go:embed production.toml
var Production []byte
