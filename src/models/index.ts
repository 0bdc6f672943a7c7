/**
 * Every family's task runtime, registered. The platform takes `runtimeFor` from HERE (not from
 * ./runtimes directly) so that the registrations below have run before the first lookup.
 */
import './families/runtime';
import './hf/index';
import './language/index';
import './vision/index';

export {
  derivedArtifactBuilder,
  type Explainer,
  type ExplainRequest,
  type Explanation,
  explainerFor,
  explainKey,
} from './explain/index';
export { runtimeFor } from './runtimes';
