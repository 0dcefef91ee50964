/*
 * floor: only exits. BenchmarkColdRun builds it (dynamically linked, as
 * solo5-hvt is) to time what a C process costs before it does any work.
 */
int main(void)
{
    return 0;
}
