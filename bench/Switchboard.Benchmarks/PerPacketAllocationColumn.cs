using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Switchboard.Benchmarks;

/// <summary>
/// "Alloc/packet": the memory diagnoser's bytes allocated per operation divided by the packets one operation moves,
/// for benchmarks whose operation is many packets (DESIGN.md: no per-packet allocation in steady state). The
/// benchmark class says how many packets an operation is for its parameters.
/// </summary>
public sealed class PerPacketAllocationColumn(Func<BenchmarkCase, long> packetsPerOperation) : IColumn
{
    public string Id => nameof(PerPacketAllocationColumn);
    public string ColumnName => "Alloc/packet";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Metric;
    public int PriorityInCategory => 10;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Size;
    public string Legend => "Bytes allocated per packet moved (Allocated / packets per operation), both ends together";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        var perOperation = report?.GcStats.GetBytesAllocatedPerOperation(benchmarkCase);
        var packets = packetsPerOperation(benchmarkCase);
        if (perOperation is null || packets <= 0) return "-";
        return $"{perOperation.Value / (double)packets:0.0} B";
    }

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}
