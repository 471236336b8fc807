// Package jsonenc appends JSON strings byte for byte as encoding/json writes
// them, without its reflection or allocations on the common path. The report
// writer of `audicia analyze` and the benchmark's audit log generator use it
// on their hot paths.
package jsonenc
