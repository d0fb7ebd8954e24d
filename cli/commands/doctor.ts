import { DoctorReportSchema } from '../../proto/index.js';
import { color, messageJson, out, printJson, statusMark } from '../output.js';
import { optionsOf, withCoordinator } from './context.js';

export async function doctor(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  await withCoordinator(
    opts,
    async ({ client }) => {
      const report = await client.doctor({ fix: opts.fix === true });
      const errors = report.findings.filter((f) => f.status === 'error').length;
      const warnings = report.findings.filter((f) => f.status === 'warning').length;
      if (opts.json === true) printJson(messageJson(DoctorReportSchema, report));
      else {
        for (const f of report.findings) {
          // The coordinator's own machine is "local"; another machine's findings name it.
          const on = f.machine === '' || f.machine === 'local' ? '' : `${f.machine}: `;
          const where = `${on}${f.rig === '' ? f.scope : `${f.scope} ${f.rig}`}`;
          out(`${statusMark(f.status)} ${f.check} ${color.dim(`(${where})`)}: ${f.message}`);
          if (f.status !== 'ok' && f.hint !== '') out(`      ${color.dim('fix:')} ${f.hint}`);
        }
        for (const line of report.fixed) out(`${color.green('FIXED')} ${line}`);
        out('');
        out(
          `${report.findings.length} checks: ${errors} error(s), ${warnings} warning(s)${report.fixed.length > 0 ? `, ${report.fixed.length} repair(s) made` : ''}`,
        );
        if (
          errors > 0 &&
          opts.fix !== true &&
          report.findings.some((f) => f.status === 'error' && f.fixable)
        )
          out('run `gt doctor --fix` to repair what can be repaired safely');
      }
      if (errors > 0) process.exitCode = 1;
    },
    { localOnlyIfFederationInvalid: true },
  );
}
