using System.Runtime.CompilerServices;

// The CLI's types are internal; the tests drive the commands and the NodeHost in-process.
[assembly: InternalsVisibleTo("Switchboard.Tests")]
