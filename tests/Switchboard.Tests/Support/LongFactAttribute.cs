namespace Switchboard.Tests.Support;

/// <summary>
/// A fact too slow for the default run (minutes of CPU on 2 cores, or a measurement at full size): it runs only when
/// <c>SWITCHBOARD_LONG_TESTS=1</c> is set, and reports itself skipped with that reason otherwise.
/// </summary>
public sealed class LongFactAttribute : FactAttribute
{
    public const string EnvironmentVariable = "SWITCHBOARD_LONG_TESTS";

    public LongFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) != "1")
            Skip = $"long test: set {EnvironmentVariable}=1 to run it";
    }
}
