namespace Switchboard.Tests.Support;

public class ManualTimeProviderTests
{
    [Fact]
    public void TimersFireInDueOrderOnlyWhenAdvanced()
    {
        var time = new ManualTimeProvider();
        var fired = new List<string>();
        using var a = time.CreateTimer(_ => fired.Add("a"), null, TimeSpan.FromSeconds(2), Timeout.InfiniteTimeSpan);
        using var b = time.CreateTimer(_ => fired.Add("b"), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Empty(fired);
        time.Advance(TimeSpan.FromSeconds(2.001));
        Assert.Equal(["b", "a", "b", "b"], fired);
        Assert.Equal(TimeSpan.FromSeconds(3), time.GetElapsedTime(0));
    }
}
