/**
 * qi methods as ROS services: `Service.method` allowed by a `method:` rule is served as
 * `/qi/<Service>/<method>` of type `qi_srvs/<Service>_<method>`, its request a field per parameter
 * (named from the MetaObject, else `arg0`…) and its response one field `data` (none for void). The
 * first overload whose types all map is served; the others are named in a warning.
 */
import { QiError } from '../../errors/index.js';
import type { MethodInfo, ObjectBackend } from '../../object/index.js';
import type { Signature } from '../../type/index.js';
import { serviceMd5sum } from './msgspec.js';
import { rosIdentifier, structMessage, type QiMessageType } from './msgqi.js';
import { deserialize, serialize } from './serialize.js';
import type { ServiceServer } from './service-server.js';

/** A qi method as a ROS service, and its types. */
export interface MethodService extends ServiceServer {
  readonly request: QiMessageType;
  readonly response: QiMessageType;
}

const membersOf = (sig: Signature): readonly Signature[] => (sig.kind === 'tuple' ? sig.members : [sig]);

/**
 * The ROS service of `service.name`, calling `backend` (bounded by `timeoutMs`).
 * @throws QiError `ERR_QI_VALUE` when no overload maps to ROS types
 */
export function methodService(
  backend: ObjectBackend,
  service: string,
  name: string,
  overloads: readonly MethodInfo[],
  timeoutMs: number,
): MethodService {
  let first: unknown;
  for (const m of overloads) {
    try {
      const type = `qi_srvs/${rosIdentifier(service)}_${rosIdentifier(name)}`;
      const params = membersOf(m.params.type);
      const names = params.map((_, i) => m.meta.parameters[i]?.name || `arg${i}`);
      const request = structMessage(`${type}Request`, params, names, `${service}.${name}`);
      const ret = m.returns.type;
      const response = structMessage(
        `${type}Response`,
        ret.kind === 'void' ? [] : [ret],
        ['data'],
        `${service}.${name}`,
      );
      return {
        type,
        md5: serviceMd5sum(request.spec, response.spec),
        request,
        response,
        async call(bytes: Buffer): Promise<Buffer> {
          let args: unknown[];
          try {
            args = request.fromMessage(deserialize(request.spec, bytes));
          } catch (e) {
            throw new QiError('ERR_QI_VALUE', `the request does not fit ${request.spec.type}: ${(e as Error).message}`);
          }
          const result = await backend.call(m.name, args, { timeoutMs });
          return serialize(response.spec, response.toMessage(ret.kind === 'void' ? [] : [result]));
        },
      };
    } catch (e) {
      first ??= e;
    }
  }
  throw first;
}
