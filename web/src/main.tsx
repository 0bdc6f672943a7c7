import { createRoot } from 'react-dom/client';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { App } from './app';

const root = document.getElementById('root');
if (root) createRoot(root).render(<App />);
