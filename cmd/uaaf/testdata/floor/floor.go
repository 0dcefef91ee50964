// Command floor only exits. BenchmarkColdRun builds it (statically, as uaaf
// is built) to time what any Go process costs before it does any work.
package main

func main() {}
