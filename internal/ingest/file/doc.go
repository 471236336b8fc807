// Package file tails the kube-apiserver audit log (--audit-log-path, JSON
// lines) for the operator. It owns everything between the file system and
// complete lines: reading with bounded memory, holding back a partly written
// last line, following rename+create and copytruncate rotation without losing
// lines where the file system still holds them, and exact checkpoints
// (file identity plus byte offset) from which a restarted operator resumes
// without losing or repeating a line. It does not decode the lines. Linux
// only: a file's identity is its device and inode.
package file
