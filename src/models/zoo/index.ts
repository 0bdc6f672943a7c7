/** Every zoo row. Each family's module registers its rows on import. */
import './language';
import './vision';
import './classifiers';
import './fashion';

export {
  beats,
  meetsTarget,
  registerZooEntry,
  type ZooArtifact,
  type ZooEntry,
  type ZooQuality,
  zooEntries,
  zooEntry,
  zooUnavailable,
} from './manifest';
