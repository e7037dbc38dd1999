//go:build tools

// This file pins the modules the project depends on, so that go.mod keeps them
// while the packages that use them are being written.
package frontier

import (
	_ "github.com/klauspost/cpuid/v2"
	_ "github.com/parquet-go/parquet-go"
	_ "github.com/pkg/profile"
	_ "gonum.org/v1/gonum/blas/gonum"
	_ "gonum.org/v1/plot"
)
