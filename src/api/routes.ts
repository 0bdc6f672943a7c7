/**
 * THE route table: every route maas serves, one row each (see route.ts for the row's shape).
 * To add a route, add a row to the right group (or a new group here); auth, error rendering,
 * metrics and /docs follow from the row.
 */
import { accountRoutes } from './account';
import { batchRoutes } from './batches/routes';
import { datasetRoutes } from './datasets';
import { docsRoutes } from './docs';
import { explainRoutes } from './explain';
import { exportRoutes } from './exports';
import { kserveRoutes } from './kserve';
import { nativeRoutes } from './native';
import { fileRoutes } from './openai/files';
import { fineTuningRoutes } from './openai/fine-tuning';
import { openAIRoutes } from './openai/routes';
import { opsRoutes } from './ops';
import { predictRoutes } from './predict';
import { predictionRoutes } from './predictions/routes';
import { quantizeRoutes } from './quantize';
import { defineRoutes } from './route';
import { taskRoutes } from './tasks';
import { tenancyRoutes } from './tenancy-routes';
import { tokenRoutes } from './tokens';
import { trainingRoutes } from './trainings';
import { zooRoutes } from './zoo';

export const routeTable = defineRoutes(
  opsRoutes,
  docsRoutes,
  kserveRoutes,
  nativeRoutes,
  tenancyRoutes,
  accountRoutes,
  taskRoutes,
  tokenRoutes,
  openAIRoutes,
  fileRoutes,
  batchRoutes,
  fineTuningRoutes,
  datasetRoutes,
  trainingRoutes,
  predictRoutes,
  predictionRoutes,
  explainRoutes,
  exportRoutes,
  quantizeRoutes,
  zooRoutes,
);
