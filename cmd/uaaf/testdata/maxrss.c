/*
 * maxrss: run a command and report its wall time and peak RSS, for
 * BenchmarkColdRun.
 *
 * Usage: maxrss PATH [ARGS...]
 * Writes "ns=N maxrss_kib=M" to fd 3 and exits with the command's status
 * (128+N if it died of signal N).
 *
 * Why a separate process: a child exec'd straight from the Go test binary
 * (vfork) inherits the test binary's peak RSS in its ru_maxrss, because exec
 * folds the old mm's high-water mark into the child's. A child forked from
 * this small program starts from this program's small mm instead.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct timespec t0, t1;
    struct rusage ru;
    int status;
    pid_t pid;

    if (argc < 2)
        return 127;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid = fork();
    if (pid < 0)
        return 126;
    if (pid == 0) {
        close(3);
        execv(argv[1], argv + 1);
        _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) < 0)
        return 126;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    dprintf(3, "ns=%lld maxrss_kib=%ld\n",
            (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL +
                (t1.tv_nsec - t0.tv_nsec),
            ru.ru_maxrss);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 126;
}
