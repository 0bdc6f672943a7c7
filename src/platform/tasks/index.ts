export { type ChatMessage, chatTemplateOf, defaultChatTemplate, parseMessages, renderChat } from './chat';
export {
  DEFAULT_MAX_TOKENS,
  type GenerationJob,
  type GenerationOutcome,
  type GenerationParams,
  MAX_CHOICES,
} from './generation';
export {
  type ListedModel,
  type ServiceTask,
  TaskService,
  type TaskServiceDeps,
  type TaskTarget,
} from './service';
export { defaultSpeechModels, type SpeechModel, SpeechModels, type SpeechOutcome } from './speech';
