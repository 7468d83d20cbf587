using Canary.Analyzer.Cli;

return await CanaryCli.RunAsync(args, Console.In, Console.Out, Console.Error);
