# Image for the worker and JupyterLab services of docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY streams ./streams
COPY schemas ./schemas
COPY broker ./broker
COPY notebooks ./notebooks
COPY expectations ./expectations
RUN pip install --no-cache-dir -c constraints.txt -e .
