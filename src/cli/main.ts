/**
 * `npx perennial <command> ...`: one entry, one module per command. Commands
 * are imported lazily so `perennial drift` never loads Temporal or tfjs.
 */
import { consoleIo, type CliIo } from './io';

export type { CliIo };

const USAGE = `perennial <command> [options]

Commands:
  retrain --model <name> [--wait] [--force] [--trigger <why>]
                         start the retraining pipeline (prints the workflow id and the Temporal UI link)
  registry list          models and their versions in the S3 registry
  registry show --model <name> [--version <v>]
                         one model's aliases, or one version's metrics and lineage
  registry history --model <name> [--json]
                         every move of the champion: what moved it, from, to, which workflow run, when, why
  registry diff --model <name> --from <v> --to <v> [--json]
                         two versions side by side: data, spec, parameters, code, metrics, run
  data list|show|diff --model <name> [--snapshot <id|vN|champion>] [--from <..> --to <..>] [--json] [--html out.html]
                         training snapshots: list them, show one's manifest, diff two (rows, batches, schema, drift per column)
  bootstrap [--dataset weather|flights] [--model <name>] [--location Seattle|New York] [--every <n>]
                         put a demo's batches into S3 and register its model spec (weather: a batch a year;
                         flights: 3 million flights as a Parquet batch a month, every nth flight)
  validate --current <file> (--reference <file> [--strict-ranges] | --spec <model.yaml>) [--json]
                         check a batch against a schema inferred from a reference, or a model spec's
  drift --reference <file> --current <file> [--columns a,b] [--method auto|ks|...]
        [--threshold x] [--drift-share x] [--json] [--html out.html] [--fail-on-drift]
                         drift report between two samples (CSV, JSONL or Parquet)
  drift-stream --detector adwin|page-hinkley|kswin|ddm|eddm|hddm-a|hddm-w
        [--param name=value ...] --file <values.txt> [--json]
                         run a streaming drift detector over one number per line
  codec-server [--port 8888] [--host 127.0.0.1] [--origins <url,url>]
                         decode encrypted payloads for the Temporal UI (its codec endpoint) and the temporal CLI
  rollback --model <name> [--to <version>] [--reason <text>]
                         put the previous champion (or --to) back, through the RollbackModel workflow; the model server follows
  retention --model <name> [--dry-run] [--wait] | --model <name> --schedule
                         delete old snapshots, run leftovers, log partitions and reports under the spec's retention policy
                         (RetentionSweep; a dry run prints the plan), or create/update its Temporal Schedule
  drift-check --model <name> [--wait] | --model <name> --schedule
                         compare the champion's training snapshot with the prediction log of the spec's window
                         (DriftCheck: JSON and HTML reports in S3, the result signalled to monitor/<name>),
                         or create/update its Temporal Schedule (monitoring.drift.schedule)
  status --model <name> [--json]
                         the model's monitor (monitor/<model>): live performance per version, drift, the run in flight,
                         the queue, the last triggers
  trigger --model <name> --reason <text>
                         ask the monitor for a retraining: started, joined the one in flight, or queued
  models apply <spec.yaml> [--json]
                         publish the spec, start the model's monitor with the spec's thresholds, and create or update the
                         schedules it asks for (retraining, monitoring.drift, retention); the same spec again changes nothing
  models list [--model <name>] [--json]
                         every model: champion, versions, whether its monitor runs, its schedules (paused, next run)
  schedules list [--model <name>] [--json] | schedules pause|resume|trigger --model <name> --kind retraining|drift-check|retention [--note <text>]
                         a model's Temporal Schedules; trigger runs one now under the schedule's overlap policy
  feedback --model <name> --file <labels.csv> [--server <url>] [--token <t>] [--batch 1000] [--json]
                         post labels (columns prediction_id, label and/or flag) to the model server's feedback route
  release status|approve|abort|pause|resume --model <name> [--version <v>] [--reason <text>] [--json]
                         the candidate's release on live traffic (ReleaseWorkflow): where it stands and what its
                         sequential test concluded so far; its updates (abort needs --reason)
  reproduce --model <name> --version <v> [--allow-other-code] [--weights-tolerance 1e-3] [--metrics-tolerance 5e-3] [--json]
                         retrain a version from its lineage (same snapshot, spec, seed; code checked) through the
                         ReproduceVersion workflow: identical on the same backend, within tolerance on another
  serve [--port 8080] [--host 127.0.0.1] [--models weather,flights] [--body-limit <bytes>] [--poll-ms 500]
        [--spool-dir <dir>] [--log-rows 10000] [--log-seconds 60] [--spool-sync write|fsync] [--token <t>] [--feedback-seconds 5]
        [--workers <n, default: cores>] [--max-batch-rows 64] [--max-batch-wait-ms 2]
                         the model server: each model's champion (and a candidate in release) over the Open Inference
                         Protocol (V2 REST) and KServe V1 :predict, following promotions, releases and rollbacks, on every
                         core, batching concurrent requests; /metrics for Prometheus

Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, S3_ENDPOINT, S3_BUCKET, AWS_*, PERENNIAL_CODEC_KEYS, PERENNIAL_SERVER_URL, PERENNIAL_SERVE_TOKEN (see README).`;

export async function main(argv: string[], io: CliIo = consoleIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'drift':
        return await (await import('./drift')).runDriftCommand(rest, io);
      case 'drift-stream':
        return await (await import('./drift-stream')).runDriftStreamCommand(rest, io);
      case 'retrain':
        return await (await import('./retrain')).runRetrainCommand(rest, io);
      case 'registry':
        return await (await import('./registry')).runRegistryCommand(rest, io);
      case 'data':
        return await (await import('./data')).runDataCommand(rest, io);
      case 'validate':
        return await (await import('./validate')).runValidateCommand(rest, io);
      case 'bootstrap':
        return await (await import('./bootstrap')).runBootstrapCommand(rest, io);
      case 'codec-server':
        return await (await import('./codec-server')).runCodecServerCommand(rest, io);
      case 'rollback':
        return await (await import('./rollback')).runRollbackCommand(rest, io);
      case 'retention':
        return await (await import('./retention')).runRetentionCommand(rest, io);
      case 'drift-check':
        return await (await import('./drift-check')).runDriftCheckCommand(rest, io);
      case 'status':
      case 'trigger':
        return await (await import('./monitor')).runMonitorCommand(command, rest, io);
      case 'release':
        return await (await import('./release')).runReleaseCommand(rest, io);
      case 'reproduce':
        return await (await import('./reproduce')).runReproduceCommand(rest, io);
      case 'serve':
        return await (await import('./serve')).runServeCommand(rest, io);
      case 'models':
        return await (await import('./models')).runModelsCommand(rest, io);
      case 'schedules':
        return await (await import('./schedules')).runSchedulesCommand(rest, io);
      case 'feedback':
        return await (await import('./feedback')).runFeedbackCommand(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout(USAGE);
        return command === undefined ? 2 : 0;
      default:
        io.stderr(`perennial: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    io.stderr(`perennial ${command}: ${(error as Error).message}`);
    return 2;
  }
}
