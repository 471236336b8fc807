// Package guardpage gives tests bytes that end where readable memory ends,
// so that code reading past the end of its input faults instead of passing
// unnoticed: the searches written in assembly load sixteen bytes at a time.
package guardpage
