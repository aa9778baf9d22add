using BenchmarkDotNet.Running;

namespace Switchboard.Benchmarks;

internal static class Program
{
    public static async Task Main(string[] args)
    {
        // "alloc [sizes...]": the per-packet allocation probe (AllocationProbe), without BenchmarkDotNet.
        if (args is ["alloc", .. var sizes])
        {
            await AllocationProbe.RunAsync(sizes);
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
