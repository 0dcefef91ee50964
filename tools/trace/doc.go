// Package trace reads, generates and replays the Azure Functions 2019
// public trace (Shahrad et al., "Serverless in the Wild", ATC'20) for the
// uaaf daemon's research scheduler. It is pure Go: no KVM, no daemon.
//
// # Files
//
// One day NN (01–14) of the trace is three CSV files, each with a header
// row checked exactly:
//
//	invocations_per_function_md.anon.dNN.csv
//	    HashOwner,HashApp,HashFunction,Trigger,1,2,…,1440
//	    invocations of each function in each minute of the day
//	function_durations_percentiles.anon.dNN.csv (optional)
//	    HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,
//	    percentile_Average_0,_1,_25,_50,_75,_99,_100 — run times in ms
//	app_memory_percentiles.anon.dNN.csv (optional; d01–d12 only)
//	    HashOwner,HashApp,SampleCount,AverageAllocatedMb,
//	    AverageAllocatedMb_pct1,_pct5,_pct25,_pct50,_pct75,_pct95,_pct99,_pct100
//
// The readers (ReadInvocations, ReadDurations, ReadMemory, Load) accept a
// file only as a whole: one malformed row — a wrong column count, an empty
// name, a count that is not an unsigned 32-bit integer, a number that is
// not finite and ≥ 0, a function or app listed twice — fails it with a
// *FileError naming the file, the line and the column:
//
//	invocations_per_function_md.anon.d01.csv:17: column "37": "x" is not a count
//
// Memory stays bounded: counts are stored sparsely (minutes with
// invocations only), files over MaxBytes or MaxRows are refused with
// ErrTooLarge, and Arrivals refuses more than ArrivalOptions.MaxArrivals.
//
// The real trace is not downloadable here; Generate writes synthetic days
// in exactly this schema, with the paper's skew, for tests and demos.
//
// # Replay
//
// Arrivals turns a window of minutes (ParseWindow("1-60")) into single
// invocations: each minute's count is spread within the minute, evenly
// (Uniform) or as a Poisson process (Poisson), deterministically for a
// seed. Each Arrival carries its function, a run time drawn from the
// function's duration percentiles, its app's memory, and the session image
// and library functions the Mapping assigns.
//
// # Mapping file
//
// A JSON object; every field is optional, unknown fields are errors:
//
//	{
//	  "image": "demo",
//	  "function_images": {"<HashFunction>": "hello"},
//	  "rank_images": {"1": "hot", "2-10": "warm"},
//	  "app_libraries": {"<HashApp>": ["sha256", "crc32"]},
//	  "libraries": ["sort"]
//	}
//
// A function runs the image its HashFunction is given in function_images;
// else the image of the rank_images range holding its Rank (1 = the most
// invoked function of the day, ties in file order; ranges "N" or "N-M",
// disjoint); else "image" (default DefaultImage, "demo"). An app uses the
// libraries its HashApp is given in app_libraries; else "libraries"; else
// the default spread: the non-empty subset number FNV-1a-64(HashApp) mod
// 15 of ShippedLibraries (base64, crc32, sha256, sort, taken as the bits
// of the subset number + 1), so apps spread evenly over all 15 subsets and
// the choice is stable across runs and machines. An empty list means the
// app uses no library. Image and library names are letters, digits, '-',
// '_' and '.'; they name NAME.hvt files.
package trace
