// Package testutil holds helpers the tests of several packages share.
package testutil
