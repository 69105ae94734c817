# Image for the topics, worker and JupyterLab services of docker-compose.yml.
FROM python:3.11-slim
# A CJK font: the notebooks' charts (streams.analysis.charts.setup) refuse to draw without one.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fonts-wqy-microhei fontconfig \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY streams ./streams
COPY schemas ./schemas
COPY broker ./broker
COPY notebooks ./notebooks
COPY expectations ./expectations
RUN pip install --no-cache-dir -c constraints.txt -e . \
 && python -m ipykernel install --sys-prefix --name funnel --display-name "Python (funnel)"
