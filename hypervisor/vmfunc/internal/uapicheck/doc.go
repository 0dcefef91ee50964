// Package uapicheck exposes, through cgo, the ioctl numbers and struct
// layouts of kmod/uaaf_uapi.h, so that a test can prove package vmfunc's
// pure-Go mirror identical to the C header. It exists only for that test;
// without cgo it is empty and the test does not build.
package uapicheck
