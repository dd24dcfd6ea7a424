//go:build tools

// Package tools pins skaffold's command in this module's go.sum; the Makefile builds it with
// `go build github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold`.
package tools

import _ "github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold"
